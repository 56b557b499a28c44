"""(c) PyMC-Marketing's MMM as its documentation has a user fit it, on the same sample data.

Run as a script (the benchmark times the whole process, imports included):
    python benchmarks/reference_pymc_marketing.py [draws] [tune]
Needs `pip install -e ".[bench]"` (or any environment with pymc-marketing >= 0.19). Prints one
JSON line: min ESS (bulk/tail), max R-hat and sampling seconds.

The brand-level data are the sample's, aggregated as mmm_runner aggregates them: sales and
activities summed over stores, price averaged. PyMC-Marketing's model differs from ours (it
learns adstock and saturation parameters), so this compares the tools as a user meets them.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from fit_summary import print_fit_summary
from pymc_marketing.mmm import GeometricAdstock, LogisticSaturation
from pymc_marketing.mmm.multidimensional import MMM

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = ["act_tv", "act_digital", "act_radio"]


# How both PyMC-Marketing references sample: as `sampler=fast`'s settings allow.
FIT_SETTINGS = {"target_accept": 0.9, "random_seed": 42, "progressbar": False}


def reference_mmm(channels: list[str], **dims: tuple[str, ...]) -> MMM:
    """PyMC-Marketing's MMM as its documentation sets one up: geometric adstock over 13 weeks,
    logistic saturation, the price control and 2 yearly Fourier modes (`dims` for a panel)."""
    return MMM(
        date_column="period_start",
        channel_columns=channels,
        target_column="sales",
        control_columns=["ctrl_price"],
        adstock=GeometricAdstock(l_max=13),
        saturation=LogisticSaturation(),
        yearly_seasonality=2,
        **dims,
    )


def main() -> None:
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    tune = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    raw = pd.read_csv(ROOT / "sample_data" / "mmm_sample_small.csv", parse_dates=["period_start"])
    brand = (
        raw.groupby("period_start")
        .agg({"sales": "sum", **{c: "sum" for c in CHANNELS}, "ctrl_price": "mean"})
        .reset_index()
    )
    model = reference_mmm(CHANNELS)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = model.fit(
            brand.drop(columns="sales"),
            brand["sales"],
            draws=draws,
            tune=tune,
            chains=2,
            **FIT_SETTINGS,
        )
    sampling = time.perf_counter() - start
    free = [rv.name for rv in model.model.free_RVs]  # parameters, not derived quantities
    print_fit_summary(idata, sampling, var_names=free)


if __name__ == "__main__":
    main()
