"""The likelihood block every structure shares: StudentT or Normal noise around `mu`.

Stated once here for the PyMC graph, the pointwise log-likelihood (LOO) and predictive draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import gammaln

from mmm_runner.config.schema import ModelConfig, value_of
from mmm_runner.model.parameters import Draws, Parameter


def is_student_t(model_cfg: ModelConfig) -> bool:
    return value_of(model_cfg.likelihood) == "StudentT"


def likelihood_parameters(model_cfg: ModelConfig) -> tuple[Parameter, ...]:
    """sigma (noise scale), and nu (degrees of freedom) for a StudentT likelihood."""
    params = [Parameter("sigma", transform="log", prior_key="sigma", native_family="HalfNormal")]
    if is_student_t(model_cfg):
        params.append(Parameter("nu", transform="log", prior_key="nu", native_family="Exponential"))
    return tuple(params)


def add_observed(
    mu: Any,
    y: Any,
    params: Mapping[str, Any],
    model_cfg: ModelConfig,
    dims: tuple[str, ...] = ("period",),
) -> Any:
    """The `obs` node of a PyMC graph (inside a model context)."""
    import pymc as pm

    if is_student_t(model_cfg):
        return pm.StudentT(
            "obs", nu=params["nu"], mu=mu, sigma=params["sigma"], observed=y, dims=dims
        )
    return pm.Normal("obs", mu=mu, sigma=params["sigma"], observed=y, dims=dims)


def pointwise_log_likelihood(
    mu: np.ndarray, y: np.ndarray, sigma: np.ndarray, nu: np.ndarray | None
) -> np.ndarray:
    """log p(y_t | draw) with mu (S, T), sigma (S,), nu (S,) or None for a Normal likelihood."""
    r = (y[None, :] - mu) / sigma[:, None]
    if nu is None:
        return -0.5 * r**2 - np.log(sigma)[:, None] - 0.5 * np.log(2 * np.pi)
    nu_ = nu[:, None]
    return (
        gammaln(0.5 * (nu_ + 1))
        - gammaln(0.5 * nu_)
        - 0.5 * np.log(nu_ * np.pi)
        - np.log(sigma)[:, None]
        - 0.5 * (nu_ + 1) * np.log1p(r**2 / nu_)
    )


def noise_draws(draws: Draws, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """(S, T) noise on the model scale: sigma times a StudentT(nu) or standard Normal draw."""
    nu = draws.get("nu")
    if nu is not None:
        noise = rng.standard_t(nu[:, None], size=shape)
    else:
        noise = rng.standard_normal(shape)
    return draws["sigma"][:, None] * noise
