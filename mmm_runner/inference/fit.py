"""`sampler.backend`: one name -> one sampler, the same InferenceData from each.

- `nutpie` (default): nutpie's Rust NUTS on the structure's native density, else its graph.
- `pymc`: PyMC's own NUTS on the structure's PyMC graph, the reference.
- `numpyro`: the PyMC graph through JAX/numpyro (`pip install -e ".[jax]"`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from mmm_runner.config.schema import ModelConfig, SamplerConfig, value_of
from mmm_runner.features.build import FeatureSet
from mmm_runner.inference.nutpie_backend import sample_nutpie
from mmm_runner.inference.pymc_backend import sample_numpyro, sample_pymc
from mmm_runner.inference.result import FitResult
from mmm_runner.model.structure import ModelStructure

Backend = Callable[[ModelStructure, FeatureSet, ModelConfig, SamplerConfig], FitResult]
BACKENDS: dict[str, Backend] = {
    "nutpie": sample_nutpie,
    "pymc": sample_pymc,
    "numpyro": sample_numpyro,
}

if TYPE_CHECKING:  # arviz is imported only where a posterior is handled
    from arviz import InferenceData


def fit(
    structure: ModelStructure,
    features: FeatureSet,
    model_cfg: ModelConfig,
    sampler_cfg: SamplerConfig,
) -> FitResult:
    """Sample with the configured backend; derived variables and log-likelihood attached."""
    result = BACKENDS[value_of(sampler_cfg.backend)](structure, features, model_cfg, sampler_cfg)
    add_derived(result.idata, structure, model_cfg)
    attach_log_likelihood(result.idata, structure, model_cfg, features)
    return result


def add_derived(idata: InferenceData, structure: ModelStructure, model_cfg: ModelConfig) -> None:
    """Derived variables (e.g. non-centred beta) for backends that sample only free ones."""
    post = idata.posterior
    missing = [v for v in structure.derived(model_cfg) if v.name not in post]
    if not missing:
        return
    arrays = {name: post[name].values for name in post.data_vars}
    for var in missing:
        value = structure.derive(var.name, arrays, model_cfg)
        post[var.name] = (("chain", "draw", *var.dims), value)


def attach_log_likelihood(
    idata: InferenceData, structure: ModelStructure, model_cfg: ModelConfig, features: FeatureSet
) -> None:
    """log_likelihood['obs'] (chain, draw, period) and observed_data, as PyMC would write."""
    import xarray as xr

    post = idata.posterior
    draws = structure.draws(idata, model_cfg, features)
    loglik = structure.log_likelihood(draws, features)
    loglik = loglik.reshape(post.sizes["chain"], post.sizes["draw"], -1)
    coords = {"chain": post["chain"].values, "draw": post["draw"].values}
    obs = xr.DataArray(loglik, dims=("chain", "draw", "period"), coords=coords)
    for group in ("log_likelihood", "observed_data"):
        if group in idata.groups():
            delattr(idata, group)
    observed = np.ravel(structure.observed(features))  # an entity panel: entity-major
    idata.add_groups(
        log_likelihood=xr.Dataset({"obs": obs}),
        observed_data=xr.Dataset({"obs": xr.DataArray(observed, dims=("period",))}),
    )
