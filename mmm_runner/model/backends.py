"""Sampler backends behind `sampler.backend`: one name -> one function, the same result.

- `nutpie` (default): nutpie's Rust NUTS on the hand-derived density of
  `mmm_runner.model.native` (numba, cached on disk). Priors outside that density's families fall
  back to nutpie compiling the PyMC graph, once per model structure per process.
- `pymc`: PyMC's own NUTS on the PyMC model (`mmm_runner.model.mmm`), the reference.
- `numpyro`: PyMC's model through JAX/numpyro (`pip install -e ".[jax]"`).

Every backend returns InferenceData with the same variable names, plus a log_likelihood
group computed here in numpy, so LOO and every later stage do not care which one ran.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmm_runner.config.schema import to_plain, value_of
from mmm_runner.errors import ConfigError
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.draws import Draws
from mmm_runner.model.likelihood import pointwise_log_likelihood
from mmm_runner.model.priors import prior_spec


@dataclass
class FitResult:
    idata: Any  # arviz.InferenceData
    sampling_seconds: float
    backend: str
    details: dict[str, Any] = field(default_factory=dict)


def require(module: str, extra: str, backend: str) -> None:
    """Fail with the install command when an optional backend's package is absent."""
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"sampler.backend={backend} needs the '{module}' package: "
            f'pip install -e ".[{extra}]" (or choose sampler.backend=pymc)'
        )


def nuts_settings(sampler_cfg: Any) -> dict[str, Any]:
    """draws, tune, chains, cores and target_accept, as both nutpie and PyMC name them."""
    chains = int(sampler_cfg.chains)
    return {
        "draws": int(sampler_cfg.draws),
        "tune": int(sampler_cfg.tune),
        "chains": chains,
        "cores": int(sampler_cfg.cores or min(chains, os.cpu_count() or 1)),
        "target_accept": float(sampler_cfg.target_accept),
    }


# ---------------------------------------------------------------- nutpie on the native density
NATIVE_FAMILIES = {
    "intercept": ("Normal", {"mu": 0.0, "sigma": 1.0}),
    "sigma_beta": ("HalfNormal", {"sigma": 1.0}),
    "beta": ("HalfNormal", {}),
    "gamma": ("Normal", {"mu": 0.0, "sigma": 1.0}),
    "sigma": ("HalfNormal", {"sigma": 1.0}),
    "nu": ("Exponential", {"lam": None}),
}


def native_priors(model_cfg: Any) -> dict[str, dict[str, float]] | None:
    """The priors' parameters if the native density covers them (else None)."""
    resolved = {}
    for key, (family, defaults) in NATIVE_FAMILIES.items():
        dist, params = prior_spec(getattr(model_cfg, key))
        if dist != family or set(params) - set(defaults):
            return None
        merged = {**defaults, **params}
        if any(v is None for v in merged.values()):
            return None
        resolved[key] = merged
    return resolved


def native_data(features: FeatureSet, model_cfg: Any, priors: dict) -> np.ndarray:
    """The float64 buffer the native density reads (layout in mmm_runner.model.native)."""
    from mmm_runner.model import native

    header = np.zeros(native.HEADER)
    n_t, n_c = features.x_channels.shape
    n_j = features.x_controls.shape[1]
    header[[native.T_, native.C_, native.J_]] = n_t, n_c, n_j
    header[native.STUDENT_T] = value_of(model_cfg.likelihood) == "StudentT"
    header[native.CENTERED] = value_of(model_cfg.beta_parametrization) == "centered"
    header[native.INTERCEPT_MU] = priors["intercept"]["mu"]
    header[native.INTERCEPT_SD] = priors["intercept"]["sigma"]
    header[native.SIGMA_BETA_SD] = priors["sigma_beta"]["sigma"]
    header[native.GAMMA_MU] = priors["gamma"]["mu"]
    header[native.GAMMA_SD] = priors["gamma"]["sigma"]
    header[native.SIGMA_SD] = priors["sigma"]["sigma"]
    header[native.NU_LAM] = priors["nu"]["lam"]
    parts = [header, features.x_channels.ravel(), features.x_controls.ravel()]
    return np.ascontiguousarray(np.concatenate([*parts, features.target_log_centered]))


def _native_layout(features: FeatureSet, model_cfg: Any) -> tuple[list, list, list]:
    """Names, slices and shapes of the constrained (expanded) vector, in native.expand order."""
    n_c, n_j = len(features.channel_names), len(features.control_names)
    entries = [("intercept", 1, ()), ("sigma_beta", 1, ()), ("beta", n_c, (n_c,))]
    entries += [("gamma", n_j, (n_j,)), ("sigma", 1, ())]
    if value_of(model_cfg.likelihood) == "StudentT":
        entries.append(("nu", 1, ()))
    if value_of(model_cfg.beta_parametrization) != "centered":
        entries.append(("beta_raw", n_c, (n_c,)))
    names, slices, shapes, start = [], [], [], 0
    for name, size, shape in entries:
        names.append(name)
        slices.append(slice(start, start + size))
        shapes.append(shape)
        start += size
    return names, slices, shapes


def native_model(features: FeatureSet, model_cfg: Any, priors: dict) -> Any:
    """A nutpie compiled model whose logp is the cached native C callback."""
    import pandas as pd
    from nutpie.compile_pymc import CompiledPyMCModel

    from mmm_runner.model import native

    data = native_data(features, model_cfg, priors)
    names, slices, shapes = _native_layout(features, model_cfg)
    n_dim = native.n_dim_of(data)
    n_expanded = slices[-1].stop
    scales = np.zeros(n_dim)
    scales[1] = np.log(priors["sigma_beta"]["sigma"] * 0.5)
    scales[2 : 2 + len(features.channel_names)] = scales[1]
    sigma_at = 2 + len(features.channel_names) + len(features.control_names)
    scales[sigma_at] = np.log(0.1)
    if n_dim > sigma_at + 1:
        scales[sigma_at + 1] = np.log(10.0)

    def initial_point(seed: int) -> np.ndarray:
        """PyMC's jitter+adapt start: a central point, jittered uniformly by up to 1."""
        return scales + np.random.default_rng(seed).uniform(-1.0, 1.0, n_dim)

    coords = {
        "channel": pd.Index(features.channel_names),
        "control": pd.Index(features.control_names),
        "unconstrained_parameter": pd.Index([f"x_{i}" for i in range(n_dim)]),
    }
    return CompiledPyMCModel(
        _n_dim=n_dim,
        dims={"beta": ("channel",), "gamma": ("control",), "beta_raw": ("channel",)},
        _coords=coords,
        _shapes={n: s for n, s in zip(names, shapes, strict=True)},
        compiled_logp_func=native.logp_callback,
        compiled_expand_func=native.expand_callback,
        initial_point_func=initial_point,
        shared_data={},
        user_data=data,
        n_expanded=n_expanded,
        shape_info=(names, slices, shapes),
        logp_func=None,
        expand_func=None,
    )


_GRAPH_CACHE: dict[str, Any] = {}


def graph_model(features: FeatureSet, model_cfg: Any) -> tuple[Any, bool]:
    """nutpie's compile of the PyMC graph, once per structure; new data via with_data."""
    import nutpie

    from mmm_runner.model.mmm import build_model

    key = json.dumps(
        [to_plain_model(model_cfg), features.channel_names, features.control_names,
         len(features.target)],
        sort_keys=True,
    )  # fmt: skip
    reused = key in _GRAPH_CACHE
    if not reused:
        _GRAPH_CACHE[key] = nutpie.compile_pymc_model(build_model(features, model_cfg))
    compiled = _GRAPH_CACHE[key].with_data(
        x_channels=features.x_channels,
        x_controls=features.x_controls,
        y=features.target_log_centered,
    )
    return compiled, reused


def to_plain_model(model_cfg: Any) -> Any:
    try:
        return to_plain(model_cfg)
    except Exception:  # a plain namespace in notebooks
        return repr(model_cfg)


# Variance-based mass-matrix adaptation (as Stan and PyMC). Measured on the sample, 2 chains x
# 500 draws over 21 seeds: max R-hat >= 1.01 on 4 with it, on 8 with nutpie's gradient-based
# default and on 6 with its low-rank mass matrix (median 1.0076 / 1.0086 / 1.0077).
NUTPIE_SETTINGS: dict[str, Any] = {"use_grad_based_mass_matrix": False}


def sample_nutpie(features: FeatureSet, model_cfg: Any, sampler_cfg: Any) -> FitResult:
    import nutpie

    start = time.perf_counter()
    priors = native_priors(model_cfg)
    if priors is not None:
        compiled, path, reused = native_model(features, model_cfg, priors), "native", True
    else:
        compiled, reused = graph_model(features, model_cfg)
        path = "pymc-graph"
    prepared = time.perf_counter()
    idata = nutpie.sample(
        compiled,
        **nuts_settings(sampler_cfg),
        seed=int(sampler_cfg.random_seed),
        progress_bar=False,
        save_warmup=False,
        **NUTPIE_SETTINGS,
    )
    done = time.perf_counter()
    details = {"path": path, "compile_seconds": prepared - start, "compiled_model_reused": reused}
    return FitResult(idata, done - prepared, "nutpie", details)


# ---------------------------------------------------------------------------- PyMC and numpyro
def sample_pymc(features: FeatureSet, model_cfg: Any, sampler_cfg: Any) -> FitResult:
    return _pm_sample(features, model_cfg, sampler_cfg, nuts_sampler="pymc")


def sample_numpyro(features: FeatureSet, model_cfg: Any, sampler_cfg: Any) -> FitResult:
    require("numpyro", "jax", "numpyro")
    chains = nuts_settings(sampler_cfg)["chains"]
    # One XLA host device per chain, so chains run in parallel; only effective before jax loads.
    os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={chains}")
    from mmm_runner.model.caches import cache_root, configure_jax_cache

    configure_jax_cache(cache_root(getattr(sampler_cfg, "cache_dir", None)) / "jax")
    return _pm_sample(features, model_cfg, sampler_cfg, nuts_sampler="numpyro")


def _pm_sample(
    features: FeatureSet, model_cfg: Any, sampler_cfg: Any, nuts_sampler: str
) -> FitResult:
    import pymc as pm

    from mmm_runner.model.mmm import build_model

    model = build_model(features, model_cfg)
    start = time.perf_counter()
    with model:
        idata = pm.sample(
            **nuts_settings(sampler_cfg),
            random_seed=int(sampler_cfg.random_seed),
            progressbar=False,
            compute_convergence_checks=False,
            nuts_sampler=nuts_sampler,
        )
    return FitResult(idata, time.perf_counter() - start, nuts_sampler, {"path": "pymc-graph"})


BACKENDS: dict[str, Callable[[FeatureSet, Any, Any], FitResult]] = {
    "nutpie": sample_nutpie,
    "pymc": sample_pymc,
    "numpyro": sample_numpyro,
}


def fit(features: FeatureSet, model_cfg: Any, sampler_cfg: Any) -> FitResult:
    """Sample with the configured backend and attach the pointwise log-likelihood."""
    backend = value_of(sampler_cfg.backend)
    result = BACKENDS[backend](features, model_cfg, sampler_cfg)
    attach_log_likelihood(result.idata, features)
    return result


def attach_log_likelihood(idata: Any, features: FeatureSet) -> None:
    """log_likelihood['obs'] (chain, draw, period) and observed_data, as PyMC would write."""
    import xarray as xr

    post = idata.posterior
    draws = Draws.from_idata(idata, len(features.control_names))
    y = features.target_log_centered
    loglik = pointwise_log_likelihood(draws.mu(features), y, draws.sigma, draws.nu)
    loglik = loglik.reshape(post.sizes["chain"], post.sizes["draw"], -1)
    coords = {"chain": post["chain"].values, "draw": post["draw"].values}
    obs = xr.DataArray(loglik, dims=("chain", "draw", "period"), coords=coords)
    for group in ("log_likelihood", "observed_data"):
        if group in idata.groups():
            delattr(idata, group)
    idata.add_groups(
        log_likelihood=xr.Dataset({"obs": obs}),
        observed_data=xr.Dataset({"obs": xr.DataArray(y, dims=("period",))}),
    )
