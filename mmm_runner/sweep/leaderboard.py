"""Build a leaderboard from any folder of run directories.

One row per run (failed runs included, with their error), ranked by ELPD-LOO among converged
runs first. Runs within 2 SE of the best (SE of the pointwise difference, as arviz.compare)
are marked: the data cannot tell them apart, so pick among them on business grounds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.io.artifacts import write_parquet, write_text


def pareto_k_threshold(n_samples: int) -> float:
    """Above this k, PSIS-LOO is unreliable for a point (Vehtari et al. 2024; as arviz)."""
    return min(1.0 - 1.0 / math.log10(n_samples), 0.7)


LEADERBOARD_FILES = ("leaderboard.csv", "leaderboard.md", "leaderboard.parquet")
LEADING_COLUMNS = (
    "rank", "run", "overrides", "status", "converged", "elpd_loo", "elpd_loo_se", "elpd_diff",
    "elpd_diff_se", "within_2se_of_best", "pareto_k_bad", "p_loo", "max_rhat", "divergences",
)  # fmt: skip


@dataclass
class RunRecord:
    row: dict[str, Any]
    pointwise_elpd: np.ndarray | None = None
    data_key: tuple | None = None  # runs are comparable only on the same observations


def find_run_dirs(root: Path) -> list[Path]:
    """Every folder below `root` (or root itself) holding a status.json."""
    return sorted({p.parent for p in Path(root).rglob("status.json")})


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _overrides(run_dir: Path) -> str:
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return ""
    from omegaconf import OmegaConf

    return " ".join(str(o) for o in OmegaConf.load(path))


def read_run(run_dir: Path, root: Path) -> RunRecord:
    """One leaderboard row from the artifacts of a run directory."""
    status = _read_json(run_dir / "status.json") or {}
    error = status.get("error") or {}
    row: dict[str, Any] = {
        "run": run_dir.relative_to(root).as_posix() if run_dir != root else run_dir.name,
        "overrides": _overrides(run_dir),
        "status": status.get("stage"),
        "error": (error.get("message") or "").splitlines()[0] if error else "",
    }
    diagnostics = _read_json(run_dir / "diagnostics.json")
    if diagnostics:
        row.update(
            converged=diagnostics["converged"],
            max_rhat=diagnostics["max_rhat"],
            min_ess_bulk=diagnostics["min_ess_bulk"],
            divergences=diagnostics["divergences"],
        )
    metrics = _read_json(run_dir / "fit_metrics.json")
    if metrics:
        row.update(mape=metrics["mape"], rmse=metrics["rmse"], r2=metrics["r2"])
        holdout = metrics.get("holdout") or {}
        row.update(
            holdout_mape=holdout.get("mape"),
            holdout_rmse=holdout.get("rmse"),
            holdout_coverage_94=holdout.get("interval_coverage_94"),
        )
    roi = _read_json(run_dir / "roi_metrics.json")
    if roi:
        for channel, entry in roi["channels"].items():
            row[f"roas_{channel}"] = entry["roas"]["mean"] if "roas" in entry else None
    record = RunRecord(row)
    posterior = run_dir / "posterior.nc"
    if row["status"] == "OUTPUTS_READY" and posterior.is_file():
        _add_loo(record, _read_json(run_dir / "loo.json") or _loo_from(posterior), run_dir)
    return record


def _loo_from(posterior: Path) -> dict[str, Any]:
    """LOO for runs made before loo.json existed: recomputed from posterior.nc."""
    import arviz as az

    from mmm_runner.analysis.diagnostics import loo_report

    return loo_report(az.from_netcdf(posterior))


def _add_loo(record: RunRecord, loo: dict[str, Any], run_dir: Path) -> None:
    pareto_k = np.asarray(loo["pareto_k"])
    threshold = pareto_k_threshold(int(loo["n_samples"]))
    record.row.update(
        elpd_loo=loo["elpd_loo"],
        elpd_loo_se=loo["se"],
        p_loo=loo["p_loo"],
        pareto_k_bad=int((pareto_k > threshold).sum()),
        pareto_k_threshold=threshold,
    )
    record.pointwise_elpd = np.asarray(loo["loo_i"])
    manifest = _read_json(run_dir / "manifest.json") or {}
    record.data_key = (manifest.get("input", {}).get("sha256"), len(record.pointwise_elpd))


def rank(records: list[RunRecord]) -> pd.DataFrame:
    """Converged runs first, each group by ELPD-LOO; failed and unscored runs last."""
    scored = [r for r in records if r.pointwise_elpd is not None]
    scored.sort(key=lambda r: (not r.row.get("converged", False), -r.row["elpd_loo"]))
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
    """Rank every run below `root`; write leaderboard.csv/.md/.parquet into `root`."""
    root = Path(root)
    records = [read_run(d, root) for d in find_run_dirs(root)]
    table = rank(records)
    if write:
        table = table.astype({"rank": "Int64"}) if len(table) else table
        write_text(root / "leaderboard.csv", table.to_csv(index=False))
        header = (
            f"# Leaderboard: {root.name}\n\nRanked by ELPD-LOO (converged runs first). "
            "`within_2se_of_best`: indistinguishable from the best by the data.\n\n"
        )
        write_text(root / "leaderboard.md", header + to_markdown(table))
        write_parquet(root / "leaderboard.parquet", table)
    return table
