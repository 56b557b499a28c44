"""`leaderboard.html`: a sweep's ranked table, ELPD with error bars, ROAS across configurations.

Rendered from the ranked table the sweep already built (`sweep.leaderboard.rank`) plus each
run's ROAS intervals, read through the store. Charts label runs by their rank and the overrides
that set them apart (overrides every run shares are left out).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.report.charts import IntervalRow, interval_chart, intervals
from mmm_runner.report.labels import channel_labels, is_number, num
from mmm_runner.report.page import environment, version
from mmm_runner.report.sections import Table
from mmm_runner.report.svg import Chart, figure, render
from mmm_runner.store import RunReadError, load_run

MAX_LABEL = 40  # characters of a run's label in a chart (the table has the full overrides)
MAX_CHART_RUNS = 40  # beyond this a chart is unreadable; the table still lists every run
TABLE_COLUMNS = {  # leaderboard column -> heading
    "rank": "rank",
    "run": "run",
    "overrides": "overrides",
    "status": "status",
    "reliability": "reliability",
    "elpd_loo": "ELPD-LOO",
    "elpd_loo_se": "SE",
    "elpd_diff": "ELPD diff",
    "elpd_diff_se": "diff SE",
    "within_2se_of_best": "within 2 SE",
    "pareto_k_bad": "bad k",
    "max_rhat": "max R-hat",
    "divergences": "div.",
    "mape": "MAPE",
    "holdout_mape": "holdout MAPE",
}


COUNT_COLUMNS = ("rank", "pareto_k_bad", "divergences")


def _cell(column: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_number(value):
        return f"{int(value)}" if column in COUNT_COLUMNS else num(value, 4)
    if value is None or pd.isna(value):
        return ""
    return str(value)


def distinguishing(overrides: list[str]) -> list[str]:
    """Each run's overrides minus those every run shares, keys shortened to their last part."""
    tokens = [o.split() for o in overrides]
    shared = set.intersection(*(set(t) for t in tokens)) if tokens else set()
    labels = []
    for run_tokens in tokens:
        own = [t for t in run_tokens if t not in shared]
        labels.append(
            ", ".join(
                t.split("=", 1)[0].rsplit(".", 1)[-1] + "=" + t.split("=", 1)[1] if "=" in t else t
                for t in own
            )
        )
    return labels


def _run_labels(table: pd.DataFrame) -> list[str]:
    own = distinguishing([str(o or "") for o in table["overrides"].fillna("")])
    ranks = [f"#{int(r)}" if is_number(r) else "-" for r in table["rank"]]
    labels = [f"{r} {o or run}" for r, o, run in zip(ranks, own, table["run"], strict=True)]
    return [label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…" for label in labels]


def elpd_chart(table: pd.DataFrame, labels: list[str]) -> Chart | None:
    scored = table[table["elpd_loo"].notna()] if "elpd_loo" in table else table.iloc[:0]
    if scored.empty:
        return None
    rows = [
        IntervalRow(
            labels[i],
            float(r.elpd_loo),
            float(r.elpd_loo - r.elpd_loo_se),
            float(r.elpd_loo + r.elpd_loo_se),
        )
        for i, r in zip(scored.index, scored.itertuples(), strict=True)
    ][:MAX_CHART_RUNS]
    return interval_chart(
        "chart-elpd",
        "ELPD-LOO per configuration (± 1 SE; higher is better)",
        rows,
        "expected log predictive density (sum over periods)",
        None,
        zero_based=False,
        one_colour=True,
    )


def roas_across_chart(root: Path, table: pd.DataFrame, labels: list[str]) -> Chart | None:
    """ROAS mean and 94% HDI of each channel, one row per run in rank order."""
    per_run = []
    for run in table["run"][:MAX_CHART_RUNS]:
        try:
            roi = load_run(root / str(run)).roi
        except (RunReadError, OSError):
            roi = None
        per_run.append(roi.channels if roi else {})
    channels = list(dict.fromkeys(c for entry in per_run for c in entry))
    names = channel_labels(channels)
    panels: dict[str, list[IntervalRow]] = {}
    for channel in channels:
        rows = []
        for label, entry in zip(labels, per_run, strict=False):
            roas = entry[channel].roas if channel in entry else None
            values = (roas.mean, roas.hdi_lower, roas.hdi_upper) if roas else (math.nan,) * 3
            rows.append(IntervalRow(label, *values))
        if any(not math.isnan(r.mean) for r in rows):
            panels[names[channel]] = rows
    if not panels:
        return None
    return small_multiples(
        "chart-roas-across",
        "ROAS per channel across configurations (94% HDI)",
        panels,
        "sales per unit of spend",
    )


def small_multiples(
    chart_id: str, title: str, panels: dict[str, list[IntervalRow]], xlabel: str
) -> Chart:
    """One interval panel per channel, the same rows (runs) in each."""
    names = list(panels)
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    n_rows = max(len(v) for v in panels.values())
    with figure(chart_id, 0.6 + nrows * (0.7 + 0.3 * n_rows), nrows, ncols) as (fig, axes):
        axes = np.atleast_1d(axes)
        for i, ax in enumerate(axes):
            if i >= len(names):
                ax.set_visible(False)
                continue
            intervals(ax, panels[names[i]], one_colour=True)
            ax.set_xlim(left=0.0)
            ax.set_title(names[i], loc="left", fontsize=9.5)
            ax.set_xlabel(xlabel)
            if i % ncols:
                ax.tick_params(axis="y", labelleft=False)
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=10.5)
        return render(fig, chart_id, title)


def render_leaderboard(root: Path, table: pd.DataFrame) -> str:
    """The sweep page for the ranked `table` of the runs under `root`."""
    root = Path(root)
    labels = _run_labels(table) if len(table) else []
    chart_list = (
        [
            c
            for c in (elpd_chart(table, labels), roas_across_chart(root, table, labels))
            if c is not None
        ]
        if len(table)
        else []
    )
    columns = [c for c in TABLE_COLUMNS if c in table]
    columns += [c for c in table.columns if c.startswith("roas_")] + ["error"] * ("error" in table)
    headings = [TABLE_COLUMNS.get(c, c) for c in columns]
    rows = [
        [_cell(c, v) for c, v in zip(columns, row, strict=True)]
        for row in table[columns].itertuples(index=False)
    ]
    numeric = tuple(
        i
        for i, c in enumerate(columns)
        if c not in ("run", "overrides", "status", "reliability", "error", "within_2se_of_best")
    )
    counts = table["status"].value_counts().to_dict() if "status" in table else {}
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    context = {
        "title": f"Leaderboard: {root.name}",
        "version": version(),
        "lead": f"{len(table)} runs ({summary}). Ranked by ELPD-LOO; unreliable runs (divergences, "
        "R-hat >= 1.05, too few effective draws) after the rest, failed runs last. Runs "
        "'within 2 SE' of the best cannot be told apart by the data: choose among them on "
        "business grounds.",
        "charts": chart_list,
        "ranked": Table(headings, rows, numeric),
    }
    return str(environment().get_template("sweep.html.j2").render(**context))
