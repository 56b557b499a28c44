"""In-sample fit on the original scale: fitted.parquet and fit_metrics.json."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.analysis.intervals import HDI_PROB, hdi
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.parameters import Draws
from mmm_runner.model.structure import ModelStructure


def fitted_table(
    structure: ModelStructure,
    draws: Draws,
    features: FeatureSet,
    seed: int,
    mu: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per period: actual, predicted mean (of the fitted level), 94% predictive HDI, split.

    `mu`: `structure.mu(draws, features)` when the caller already has it."""
    mu = structure.mu(draws, features) if mu is None else mu
    level = structure.brand_level(mu, features)
    predictive = structure.predictive_level(draws, mu, features, np.random.default_rng(seed))
    lower, upper = hdi(predictive, HDI_PROB)
    n = len(features.target)
    return pd.DataFrame(
        {
            "period_start": features.periods,
            "actual": features.target,
            "predicted_mean": level.mean(axis=0),
            "predicted_lower": lower,
            "predicted_upper": upper,
            "split": np.where(np.arange(n) < features.n_fit, "train", "holdout"),
        }
    )


def fit_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """MAPE (over non-zero actuals), RMSE and R² of the predicted mean."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    residual = actual - predicted
    nonzero = actual != 0
    ss_tot = float(((actual - actual.mean()) ** 2).sum())
    return {
        "mape": float(np.mean(np.abs(residual[nonzero] / actual[nonzero])))
        if nonzero.any()
        else None,
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "r2": 1.0 - float((residual**2).sum()) / ss_tot if ss_tot > 0 else None,
        "n_periods": len(actual),
        "scale": "original (sales units)",
    }


def interval_coverage(table: pd.DataFrame) -> float:
    """Share of periods whose actual lies inside the 94% predictive interval."""
    inside = (table["actual"] >= table["predicted_lower"]) & (
        table["actual"] <= table["predicted_upper"]
    )
    return float(inside.mean())


def split_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """fit_metrics.json: in-sample metrics at the top, out-of-sample under `holdout`."""

    def metrics(rows: pd.DataFrame) -> dict[str, Any]:
        out = fit_metrics(rows["actual"].to_numpy(), rows["predicted_mean"].to_numpy())
        return {**out, "interval_coverage_94": interval_coverage(rows)}

    train = table[table["split"] == "train"]
    holdout = table[table["split"] == "holdout"]
    report = metrics(train)
    report["holdout"] = (
        {
            **metrics(holdout),
            "first_period": str(holdout["period_start"].iloc[0])[:10],
            "last_period": str(holdout["period_start"].iloc[-1])[:10],
        }
        if len(holdout)
        else None
    )
    return report
