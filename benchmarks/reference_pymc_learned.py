"""(b) for the learned default: the same model (`model=default`), plain `pm.sample()` defaults.

Run as a script (the benchmark times the whole process, imports included):
    python benchmarks/reference_pymc_learned.py [decay] [K]
The graph is mmm_runner's own (`structure.build_pymc`, data prepared by the same SQL and
feature code), so only the sampler differs: PyMC's NUTS with its defaults (1000 x 4 on this
machine's cores, or 2 chains on 2 cores) instead of nutpie on the cached native density. Prints
one JSON line: min ESS (bulk/tail), max R-hat and sampling seconds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pymc as pm
from fit_summary import print_fit_summary

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recovery_study import compose  # noqa: E402
from mmm_runner.data.canonicalize import canonicalize  # noqa: E402
from mmm_runner.data.source import resolve_input_path  # noqa: E402
from mmm_runner.data.sql import SqlSession  # noqa: E402
from mmm_runner.data.validate import validate  # noqa: E402
from mmm_runner.features.build import build_features  # noqa: E402
from mmm_runner.model import periods_to_fit, structure_for  # noqa: E402


def main() -> None:
    decay = sys.argv[1] if len(sys.argv) > 1 else "0.5"
    half_saturation = sys.argv[2] if len(sys.argv) > 2 else "0.5"
    cfg = compose(
        [f"features.adstock.decay_default={decay}", f"features.saturation.K={half_saturation}"]
    )
    session = SqlSession()
    path = resolve_input_path(str(cfg.dataset.path))
    report = validate(session, path, cfg.dataset, periods_to_fit(cfg.model, cfg.features))
    assert report.plan is not None and report.grain is not None
    plan = report.plan
    canonical = canonicalize(session, plan)
    features = build_features(
        canonical, plan.target, plan.drivers, plan.controls, cfg.features, report.grain
    )
    structure = structure_for(cfg.model, cfg.features)
    with structure.build_pymc(features.training, cfg.model):
        start = time.perf_counter()
        idata = pm.sample(random_seed=42, progressbar=False)
        sampling = time.perf_counter() - start
    free = [v.name for v in structure.parameters(cfg.model)]
    print_fit_summary(idata, sampling, var_names=[v for v in free if v in idata.posterior])


if __name__ == "__main__":
    main()
