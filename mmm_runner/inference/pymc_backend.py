"""`sampler.backend=pymc` (PyMC's own NUTS, the reference) and `numpyro` (the graph via JAX)."""

from __future__ import annotations

import os
import time

from mmm_runner.config.schema import ModelConfig, SamplerConfig
from mmm_runner.features.build import FeatureSet
from mmm_runner.inference.result import FitResult, nuts_settings, require, show_progress
from mmm_runner.model.structure import ModelStructure


def sample_pymc(
    structure: ModelStructure,
    features: FeatureSet,
    model_cfg: ModelConfig,
    sampler_cfg: SamplerConfig,
) -> FitResult:
    return _pm_sample(structure, features, model_cfg, sampler_cfg, nuts_sampler="pymc")


def sample_numpyro(
    structure: ModelStructure,
    features: FeatureSet,
    model_cfg: ModelConfig,
    sampler_cfg: SamplerConfig,
) -> FitResult:
    require("numpyro", "jax", "numpyro")
    chains = nuts_settings(sampler_cfg)["chains"]
    # One XLA host device per chain, so chains run in parallel; only effective before jax loads.
    os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={chains}")
    from mmm_runner.inference.caches import cache_root, configure_jax_cache

    configure_jax_cache(cache_root(getattr(sampler_cfg, "cache_dir", None)) / "jax")
    return _pm_sample(structure, features, model_cfg, sampler_cfg, nuts_sampler="numpyro")


def _pm_sample(
    structure: ModelStructure,
    features: FeatureSet,
    model_cfg: ModelConfig,
    sampler_cfg: SamplerConfig,
    nuts_sampler: str,
) -> FitResult:
    import pymc as pm

    model = structure.build_pymc(features, model_cfg)
    start = time.perf_counter()
    with model:
        idata = pm.sample(
            **nuts_settings(sampler_cfg),
            random_seed=int(sampler_cfg.random_seed),
            progressbar=show_progress(),
            compute_convergence_checks=False,
            nuts_sampler=nuts_sampler,
        )
    return FitResult(idata, time.perf_counter() - start, nuts_sampler, {"path": "pymc-graph"})
