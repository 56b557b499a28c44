"""Turn a prior line of conf/model/*.yaml into a PyMC random variable, and check it early.

Every prior is `{dist, params}`, so a prior change is a one-line, reviewable diff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.config.schema import ModelConfig, PriorConfig
from mmm_runner.errors import ConfigError
from mmm_runner.model.parameters import Parameter

# Families whose `sigma` can be supplied by a shrinkage parameter (`Parameter.scale_from`).
SCALE_FAMILIES = ("HalfNormal", "HalfStudentT")
# Parameters of each family the native densities implement, with PyMC's defaults (None: required).
NATIVE_FAMILY_DEFAULTS: dict[str, dict[str, float | None]] = {
    "Normal": {"mu": 0.0, "sigma": 1.0},
    "HalfNormal": {"sigma": 1.0},
    "Exponential": {"lam": None},
    "Beta": {"alpha": None, "beta": None},
    "LogNormal": {"mu": 0.0, "sigma": 1.0},
}
POSITIVE_PARAMS = ("sigma", "lam", "beta", "nu", "alpha")


@dataclass(frozen=True)
class PriorSpec:
    """A prior as the graph and the native density take it; params may be per-channel arrays."""

    dist: str
    params: dict[str, float | np.ndarray]
    key: str  # the config key a user edits to change it (named in errors)


def prior_spec(prior_cfg: PriorConfig) -> tuple[str, dict[str, float]]:
    return str(prior_cfg.dist), {str(k): float(v) for k, v in dict(prior_cfg.params).items()}


def prior_config(model_cfg: ModelConfig, key: str) -> PriorConfig:
    return getattr(model_cfg, key)


def make_prior(name: str, spec: PriorSpec, **kwargs: Any) -> Any:
    """`pm.<dist>(name, **params, **kwargs)`, with the config key named on any mistake."""
    import pymc as pm

    key, dist, params = spec.key, spec.dist, spec.params
    family = getattr(pm, dist, None)
    if not (isinstance(family, type) and issubclass(family, pm.Distribution)):
        raise ConfigError(f"model.{key}.dist: {dist!r} is not a PyMC distribution")
    try:
        return family(name, **params, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"model.{key}.params: {params} do not fit pm.{dist} ({exc})") from None


def check_priors(model_cfg: ModelConfig, parameters: Iterable[Parameter]) -> None:
    """Cheap structural checks that need no PyMC import (fail before any work)."""
    for param in parameters:
        if param.prior_key is None:
            continue
        dist, params = prior_spec(prior_config(model_cfg, param.prior_key))
        key = param.prior_key
        if not dist or not dist[0].isupper():
            raise ConfigError(f"model.{key}.dist: {dist!r} is not a distribution name")
        if param.scale_from and (dist not in SCALE_FAMILIES or "sigma" in params):
            raise ConfigError(
                f"model.{key}: dist must be one of {SCALE_FAMILIES} without a sigma param (its "
                f"scale is {param.scale_from}, the shrinkage shared by channels); got {dist} "
                f"{params}"
            )
        for pname, value in params.items():
            if pname in POSITIVE_PARAMS and value <= 0:
                raise ConfigError(f"model.{key}.params.{pname}: must be > 0, got {value}")


def native_priors(
    model_cfg: ModelConfig, parameters: Iterable[Parameter]
) -> dict[str, dict[str, float]] | None:
    """Each prior's parameters (defaults filled) if the native density covers it, else None.

    A parameter is covered when its configured family is the one the structure's hand-written
    density implements (`Parameter.native_family`); a `scale_from` parameter takes no sigma.
    """
    resolved: dict[str, dict[str, float]] = {}
    for param in parameters:
        if param.prior_key is None:
            continue
        if param.native_family is None:
            return None
        dist, params = prior_spec(prior_config(model_cfg, param.prior_key))
        defaults = dict(NATIVE_FAMILY_DEFAULTS.get(param.native_family, {}))
        if param.scale_from:
            defaults.pop("sigma", None)
        if dist != param.native_family or set(params) - set(defaults):
            return None
        merged = {**defaults, **params}
        if any(v is None for v in merged.values()):
            return None
        resolved[param.prior_key] = {k: float(v) for k, v in merged.items() if v is not None}
    return resolved


def draw_prior(
    spec: PriorSpec, shape: tuple[int, ...], rng: np.random.Generator, scale: Any = None
) -> np.ndarray | None:
    """Draws of one prior in numpy (None for a family not listed here).

    `scale` replaces sigma for a shrinkage prior; `shape` is (draws, *dims).
    """
    p = {k: np.asarray(v, dtype=float) for k, v in spec.params.items()}
    sigma = scale if scale is not None else p.get("sigma", np.asarray(1.0))
    if spec.dist == "Normal":
        return rng.normal(p.get("mu", 0.0), sigma, shape)
    if spec.dist == "HalfNormal":
        return np.abs(rng.normal(0.0, 1.0, shape)) * sigma
    if spec.dist == "Exponential":
        return rng.exponential(1.0 / p["lam"], shape)
    if spec.dist == "Beta":
        return rng.beta(p["alpha"], p["beta"], shape)
    if spec.dist == "LogNormal":
        return np.exp(rng.normal(p.get("mu", 0.0), sigma, shape))
    return None
