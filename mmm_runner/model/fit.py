"""Sample the model with NUTS and return ArviZ InferenceData (with log-likelihood for LOO)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from mmm_runner.config.schema import value_of


@dataclass
class FitResult:
    idata: Any  # arviz.InferenceData
    sampling_seconds: float
    backend: str


def sample_model(model: Any, sampler_cfg: Any) -> FitResult:
    """NUTS with the sampler config; the same seed and config give identical draws."""
    import pymc as pm

    chains = int(sampler_cfg.chains)
    cores = sampler_cfg.cores or min(chains, os.cpu_count() or 1)
    start = time.perf_counter()
    with model:
        idata = pm.sample(
            draws=int(sampler_cfg.draws),
            tune=int(sampler_cfg.tune),
            chains=chains,
            cores=int(cores),
            target_accept=float(sampler_cfg.target_accept),
            random_seed=int(sampler_cfg.random_seed),
            progressbar=False,
            compute_convergence_checks=False,
            idata_kwargs={"log_likelihood": True},
        )
    return FitResult(idata, time.perf_counter() - start, value_of(sampler_cfg.backend))
