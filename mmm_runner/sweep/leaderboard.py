"""Build a leaderboard from any folder of run directories.

One row per run (failed runs included, with their error), ranked by ELPD-LOO. A run's
`reliability` is `ok` (converged), `flagged` (its only problem is a max R-hat between 1.01
and 1.05: ranked with the others, marked so a reviewer reruns it longer) or `unreliable`
(divergences, R-hat >= 1.05, too few effective draws: ranked after every other scored run).
Runs within 2 SE of the best (SE of the pointwise difference, as arviz.compare) are marked:
the data cannot tell them apart, so pick among them on business grounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner import store
from mmm_runner.report.leaderboard import render_leaderboard
from mmm_runner.store import SweepArtifact, find_runs, load_run
from mmm_runner.store.reader import RunReadError, RunRecord
from mmm_runner.store.records import Diagnostics, Loo

LEADERBOARD_FILES = tuple(a.filename for a in SweepArtifact)
RHAT_FLAG_MAX = 1.05  # up to here an R-hat problem is flagged, not sunk
LEADING_COLUMNS = (
    "rank", "run", "overrides", "status", "reliability", "converged", "elpd_loo", "elpd_loo_se",
    "elpd_diff", "elpd_diff_se", "within_2se_of_best", "pareto_k_bad", "p_loo", "max_rhat",
    "divergences",
)  # fmt: skip


@dataclass
class LeaderboardRow:
    """One table row (cells by column) and what ranking needs beyond it."""

    row: dict[str, Any]
    pointwise_elpd: np.ndarray | None = None
    data_key: tuple[str | None, int] | None = None  # comparable only on the same observations


def _label(run_dir: Path, root: Path) -> str:
    return run_dir.relative_to(root).as_posix() if run_dir != root else run_dir.name


def leaderboard_row(record: RunRecord, root: Path) -> LeaderboardRow:
    """One row from a run read by the store: convergence, fit, ROAS and, if finished, LOO."""
    error = record.status.error
    row: dict[str, Any] = {
        "run": _label(record.run_dir, root),
        "overrides": " ".join(record.overrides),
        "status": record.status.stage,
        "error": next(iter(error.message.splitlines()), "") if error else "",
    }
    if record.diagnostics:
        d = record.diagnostics
        row.update(
            converged=d.converged,
            max_rhat=d.max_rhat,
            min_ess_bulk=d.min_ess_bulk,
            divergences=d.divergences,
            reliability=reliability(d),
        )
    if record.fit_metrics:
        fit, holdout = record.fit_metrics.in_sample, record.fit_metrics.holdout
        row.update(mape=fit.mape, rmse=fit.rmse, r2=fit.r2)
        row.update(
            holdout_mape=holdout.mape if holdout else None,
            holdout_rmse=holdout.rmse if holdout else None,
            holdout_coverage_94=holdout.interval_coverage_94 if holdout else None,
        )
    if record.roi:
        for channel, entry in record.roi.channels.items():
            row[f"roas_{channel}"] = entry.roas.mean if entry.roas else None
    entry = LeaderboardRow(row)
    if record.status.finished:
        loo = record.loo or _loo_from_posterior(record)
        if loo is not None:
            _add_loo(entry, loo, record)
    return entry


def reliability(d: Diagnostics) -> str:
    """ok | flagged (only R-hat in [1.01, 1.05)) | unreliable (anything worse)."""
    if d.converged:
        return "ok"
    only_rhat = all(reason.startswith("max R-hat") for reason in d.reasons)
    if only_rhat and d.divergences == 0 and d.max_rhat is not None and d.max_rhat < RHAT_FLAG_MAX:
        return "flagged"
    return "unreliable"


def _loo_from_posterior(record: RunRecord) -> Loo | None:
    """LOO for runs made before Artifact.LOO existed: recomputed from the posterior."""
    if record.posterior is None:
        return None
    from mmm_runner.analysis.diagnostics import loo_report

    return Loo.parse(loo_report(record.posterior))


def _add_loo(entry: LeaderboardRow, loo: Loo, record: RunRecord) -> None:
    entry.row.update(
        elpd_loo=loo.elpd_loo,
        elpd_loo_se=loo.se,
        p_loo=loo.p_loo,
        pareto_k_bad=loo.pareto_k_bad,
        pareto_k_threshold=loo.pareto_k_threshold,
    )
    entry.pointwise_elpd = loo.loo_i
    input_sha256 = record.manifest.input_sha256 if record.manifest else None
    entry.data_key = (input_sha256, len(loo.loo_i))


def read_row(run_dir: Path, root: Path) -> LeaderboardRow:
    """A run's row; a run whose files cannot be parsed is listed as UNREADABLE, not skipped."""
    try:
        return leaderboard_row(load_run(run_dir), root)
    except RunReadError as exc:
        row = {"run": _label(run_dir, root), "overrides": "", "status": "UNREADABLE"}
        return LeaderboardRow({**row, "error": str(exc)})


def rank(records: list[LeaderboardRow]) -> pd.DataFrame:
    """By ELPD-LOO, unreliable runs after the others; failed and unscored runs last."""
    scored = [r for r in records if r.pointwise_elpd is not None]
    scored.sort(key=lambda r: (r.row.get("reliability") == "unreliable", -r.row["elpd_loo"]))
    best = scored[0] if scored else None
    for record in scored:
        assert best is not None and best.pointwise_elpd is not None
        if record.data_key != best.data_key:
            record.row.update(elpd_diff=None, elpd_diff_se=None, within_2se_of_best=None)
            continue
        diff = best.pointwise_elpd - record.pointwise_elpd
        dse = math.sqrt(len(diff) * float(np.var(diff)))
        elpd_diff = best.row["elpd_loo"] - record.row["elpd_loo"]
        record.row.update(
            elpd_diff=elpd_diff,
            elpd_diff_se=dse,
            within_2se_of_best=bool(elpd_diff <= 2 * dse),
        )
    unscored = [r for r in records if r.pointwise_elpd is None]
    rows = [r.row for r in scored] + [r.row for r in unscored]
    table = pd.DataFrame(rows)
    table.insert(0, "rank", [i + 1 for i in range(len(scored))] + [None] * len(unscored))
    first = [c for c in LEADING_COLUMNS if c in table.columns]
    last = [c for c in table.columns if c.startswith("roas_")] + ["error"]
    middle = [c for c in table.columns if c not in first and c not in last]
    return table[first + middle + [c for c in last if c in table.columns]]


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub table (no tabulate dependency); floats to 4 significant digits."""

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines) + "\n"


def build_leaderboard(root: Path, write: bool = True) -> pd.DataFrame:
    """Rank every run below `root`; write the SweepArtifact leaderboard files into `root`."""
    root = Path(root)
    records = [read_row(d, root) for d in find_runs(root)]
    table = rank(records)
    if write:
        table = table.astype({"rank": "Int64"}) if len(table) else table
        store.write(root, SweepArtifact.LEADERBOARD_CSV, table.to_csv(index=False))
        header = (
            f"# Leaderboard: {root.name}\n\nRanked by ELPD-LOO (converged runs first). "
            "`within_2se_of_best`: indistinguishable from the best by the data.\n\n"
        )
        store.write(root, SweepArtifact.LEADERBOARD_MD, header + to_markdown(table))
        store.write(root, SweepArtifact.LEADERBOARD_PARQUET, table)
        store.write(root, SweepArtifact.LEADERBOARD_HTML, render_leaderboard(root, table))
    return table
