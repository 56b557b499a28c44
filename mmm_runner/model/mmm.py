"""The SPEC §2 model: StudentT regression of centred log1p(sales) on media and controls."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmm_runner.config.schema import value_of
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.priors import make_prior

PARAMETERS = ("intercept", "beta", "gamma", "sigma_beta", "sigma", "nu")


def build_model(features: FeatureSet, model_cfg: Any) -> Any:
    """A `pm.Model`; data enter as `pm.Data` so new features refit without rebuilding.

    `model.beta_parametrization` picks centred (beta ~ HalfNormal(sigma_beta)) or non-centred
    (beta = sigma_beta * beta_raw, beta_raw ~ HalfNormal(1)) shrinkage: one model, two
    geometries for NUTS.
    """
    import pymc as pm

    coords = {
        "channel": features.channel_names,
        "control": features.control_names,
        "period": np.arange(len(features.target)),
    }
    with pm.Model(coords=coords) as model:
        x_channels = pm.Data("x_channels", features.x_channels, dims=("period", "channel"))
        x_controls = pm.Data("x_controls", features.x_controls, dims=("period", "control"))
        y = pm.Data("y", features.target_log_centered, dims="period")

        intercept = make_prior("intercept", model_cfg.intercept)
        sigma_beta = make_prior("sigma_beta", model_cfg.sigma_beta)
        if value_of(model_cfg.beta_parametrization) == "centered":
            beta = make_prior("beta", model_cfg.beta, sigma=sigma_beta, dims="channel")
        else:
            beta_raw = make_prior("beta_raw", model_cfg.beta, dims="channel")
            beta = pm.Deterministic("beta", sigma_beta * beta_raw, dims="channel")
        mu = intercept + pm.math.dot(x_channels, beta)
        if features.control_names:
            gamma = make_prior("gamma", model_cfg.gamma, dims="control")
            mu = mu + pm.math.dot(x_controls, gamma)
        sigma = make_prior("sigma", model_cfg.sigma)
        if value_of(model_cfg.likelihood) == "StudentT":
            nu = make_prior("nu", model_cfg.nu)
            pm.StudentT("obs", nu=nu, mu=mu, sigma=sigma, observed=y, dims="period")
        else:
            pm.Normal("obs", mu=mu, sigma=sigma, observed=y, dims="period")
    return model
