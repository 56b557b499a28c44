"""PyMC-Marketing's geo-level MMM (`dims=("geo",)`) on entity_study.py's speed panel.

Measures what a user of PyMC-Marketing meets on the 50-entity x 156-week x 5-channel panel that
`benchmarks/entity_study.py` times (SPEED): its multidimensional MMM with its default priors
(every parameter per geo), GeometricAdstock(l_max=13) + LogisticSaturation, the price control
and 2 yearly Fourier modes (as reference_pymc_marketing.py), sampled like `sampler=fast`
(4 chains x 500 draws, 500 tune, target_accept 0.9, seed 42) with nutpie. Run it outside the
main environment (pymc-marketing may want other pymc/pytensor releases):

    python -m venv --system-site-packages /tmp/pmm_venv
    /tmp/pmm_venv/bin/pip install "pymc-marketing>=0.19,<0.20"
    /tmp/pmm_venv/bin/python benchmarks/reference_pymc_marketing_entity.py [draws] [tune] [chains]

Prints one JSON line: seconds_total (the whole process, imports and panel build included),
seconds_fit (model.fit: model build, compile, sampling, deterministics), min bulk ESS and max
R-hat over the free parameters, divergences, the number of unconstrained parameters and the
mean leapfrog steps per draw.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import pymc_marketing  # noqa: E402
from fit_summary import print_fit_summary  # noqa: E402
from reference_pymc_marketing import FIT_SETTINGS, reference_mmm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.entity_study import SPEED  # noqa: E402
from mmm_runner.synthetic_entity import simulate_entities  # noqa: E402


def main() -> None:
    args = [*sys.argv[1:4], *["500", "500", "4"][len(sys.argv[1:4]) :]]
    draws, tune, chains = (int(a) for a in args)
    panel, truth = simulate_entities(SPEED)
    channels = truth["channels"]  # act_ch1..act_ch5 (activities, as our drivers)
    data = panel.rename(columns={"entity_id": "geo"}).assign(
        period_start=lambda d: pd.to_datetime(d["period_start"])
    )
    model = reference_mmm(channels, dims=("geo",))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = model.fit(
            data[["period_start", "geo", *channels, "ctrl_price"]],
            data["sales"],
            draws=draws,
            tune=tune,
            chains=chains,
            nuts_sampler="nutpie",
            **FIT_SETTINGS,
        )
    sampling = time.perf_counter() - start
    stats = idata.sample_stats
    print_fit_summary(
        idata,
        sampling,
        var_names=[rv.name for rv in model.model.free_RVs],
        extra={
            "seconds_total": time.perf_counter() - START,
            "divergences": int(stats["diverging"].sum()),
            "mean_leapfrog_steps": float(stats["n_steps"].mean()),
            "n_parameters": int(sum(v.size for v in model.model.initial_point().values())),
            "pmm_version": pymc_marketing.__version__,
            "sampler": "nutpie",
        },
    )


if __name__ == "__main__":
    main()
