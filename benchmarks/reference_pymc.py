"""The reference a user would write: the same model (model=fixed), plain `pm.sample()` defaults.

Run as a script (the benchmark times the whole process, imports included):
    python benchmarks/reference_pymc.py [decay] [K]
Prints one JSON line: min ESS (bulk/tail), max R-hat and sampling seconds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
from fit_summary import print_fit_summary

from mmm_runner.features.transforms import (
    fourier_terms,
    geometric_adstock,
    hill_saturation,
    linear_trend,
)

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = ["act_tv", "act_digital", "act_radio"]


def zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def main() -> None:
    decay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    half_saturation = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    raw = pd.read_csv(ROOT / "sample_data" / "mmm_sample_small.csv", parse_dates=["period_start"])
    brand = raw.groupby("period_start").agg(
        {"sales": "sum", **{c: "sum" for c in CHANNELS}, "ctrl_price": "mean"}
    )
    n = len(brand)
    x_media = np.column_stack(
        [
            zscore(
                hill_saturation(
                    geometric_adstock(brand[c].to_numpy(), decay, 13), half_saturation, 1.0
                )
            )
            for c in CHANNELS
        ]
    )
    x_controls = np.column_stack(
        [zscore(brand["ctrl_price"].to_numpy())]
        + [zscore(col) for col in fourier_terms(n, 52.1775, 2).T]
        + [zscore(linear_trend(n))]
    )
    y = np.log1p(brand["sales"].to_numpy())
    y = y - y.mean()
    with pm.Model():
        intercept = pm.Normal("intercept", 0, 2)
        sigma_beta = pm.HalfNormal("sigma_beta", 0.5)
        beta = pm.HalfNormal("beta", sigma=sigma_beta, shape=len(CHANNELS))
        gamma = pm.Normal("gamma", 0, 0.5, shape=x_controls.shape[1])
        mu = intercept + x_media @ beta + x_controls @ gamma
        pm.StudentT(
            "obs",
            nu=pm.Exponential("nu", 0.1),
            mu=mu,
            sigma=pm.HalfNormal("sigma", 1.0),
            observed=y,
        )
        start = time.perf_counter()
        idata = pm.sample(random_seed=42, progressbar=False)
        sampling = time.perf_counter() - start
    print_fit_summary(idata, sampling)


if __name__ == "__main__":
    main()
