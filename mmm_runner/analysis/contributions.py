"""Contributions and ROI (docs/model.md), computed per posterior draw and then summarized."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.analysis.intervals import summarize
from mmm_runner.data.columns import ColumnPlan
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.decomposition import Decomposition
from mmm_runner.model.parameters import Draws
from mmm_runner.model.structure import ModelStructure


@dataclass
class ContributionReport:
    table: pd.DataFrame  # contributions.parquet
    summary: dict[str, Any]  # contribution_summary.json
    roi: dict[str, Any]  # roi_metrics.json


def contribution_report(
    structure: ModelStructure,
    draws: Draws,
    features: FeatureSet,
    canonical: pd.DataFrame,
    plan: ColumnPlan,
    parts: Decomposition | None = None,
) -> ContributionReport:
    """Per-period mean decomposition, totals and shares with HDIs, and ROAS/ROI per channel.

    `parts`: `structure.predict(draws, features)` when the caller already has it."""
    parts = parts if parts is not None else structure.predict(draws, features)
    channels = features.channel_names
    table = pd.DataFrame(
        {
            "period_start": features.periods,
            "actual": features.target,
            "fitted": parts.fitted.mean(axis=0),
            "baseline": parts.baseline.mean(axis=0),
        }
    )
    for i, name in enumerate(channels):
        table[name] = parts.contributions[:, :, i].mean(axis=0)

    channel_totals = parts.contributions.sum(axis=1)  # (S, C)
    fitted_totals = parts.fitted.sum(axis=1)  # (S,)
    incremental = channel_totals.sum(axis=1)
    summary: dict[str, Any] = {
        "method": structure.contribution_method,
        "interval": "94% HDI over posterior draws",
        "n_periods": len(table),
        "actual_total": float(features.target.sum()),
        "fitted_total": summarize(fitted_totals),
        "baseline_total": summarize(parts.baseline.sum(axis=1)),
        "channels": {},
    }
    for i, name in enumerate(channels):
        summary["channels"][name] = {
            "contribution_total": summarize(channel_totals[:, i]),
            "share_of_fitted": summarize(channel_totals[:, i] / fitted_totals),
            "share_of_incremental": summarize(
                np.divide(
                    channel_totals[:, i],
                    incremental,
                    out=np.zeros_like(incremental),
                    where=incremental > 0,
                )
            ),
        }

    roi: dict[str, Any] = {
        "method": structure.contribution_method,
        "definitions": {
            "roas": "channel contribution / channel spend",
            "roi": "(channel contribution - channel spend) / channel spend",
        },
        "interval": "94% HDI over posterior draws",
        "channels": {},
        "channels_without_spend": [],
    }
    for i, name in enumerate(channels):
        spend_col = plan.spend_for.get(name)
        entry: dict[str, Any] = {"spend_column": spend_col}
        spend = float(canonical[spend_col].sum()) if spend_col else 0.0
        if not spend_col or spend <= 0:
            entry["note"] = "no spend column" if not spend_col else "total spend is zero"
            roi["channels_without_spend"].append(name)
        else:
            roas = channel_totals[:, i] / spend
            entry.update(
                spend_total=spend,
                contribution_total=float(channel_totals[:, i].mean()),
                roas=summarize(roas),
                roi=summarize(roas - 1.0),
            )
        roi["channels"][name] = entry
    return ContributionReport(table, summary, roi)
