"""`model=fixed`: the seed's model, with carryover and saturation fixed by the feature config.

The media block arrives transformed and z-scored (features/build.py); the model is a StudentT
(or Normal) regression of centred log1p(target) on it (docs/model.md, "fixed"):

    mu   = intercept + X_channels @ beta + X_controls @ gamma
    beta ~ HalfNormal(sigma_beta)    (centred)   or   beta = sigma_beta * beta_raw (non-centred)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from mmm_runner.config.schema import ModelConfig, value_of
from mmm_runner.errors import ConfigError
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.decomposition import METHOD
from mmm_runner.model.likelihood import likelihood_parameters
from mmm_runner.model.parameters import Derived, Parameter
from mmm_runner.model.priors import SCALE_FAMILIES, native_priors, prior_spec
from mmm_runner.model.structure import ArrayNamespace, ModelStructure


def is_centered(model_cfg: ModelConfig) -> bool:
    return value_of(model_cfg.beta_parametrization) == "centered"


class FixedStructure(ModelStructure):
    name = "fixed"
    description = (
        "log1p(y) - m ~ likelihood(intercept + X_channels @ beta + X_controls @ gamma, sigma); "
        "media transformed with the configured decays and Hill K/S; beta ~ beta prior scaled by "
        "sigma_beta"
    )
    contribution_method = METHOD
    data_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "x_channels": ("period", "channel"),
        "x_controls": ("period", "control"),
        "channels_at_zero": ("channel",),
    }

    def parameters(self, model_cfg: ModelConfig) -> tuple[Parameter, ...]:
        if is_centered(model_cfg):
            beta = Parameter("beta", ("channel",), "log", "beta", "sigma_beta", "HalfNormal")
        else:
            beta = Parameter("beta_raw", ("channel",), "log", "beta", None, "HalfNormal")
        return (
            Parameter("intercept", (), "identity", "intercept", native_family="Normal"),
            Parameter("sigma_beta", (), "log", "sigma_beta", native_family="HalfNormal"),
            beta,
            Parameter("gamma", ("control",), "identity", "gamma", native_family="Normal"),
            *likelihood_parameters(model_cfg),
        )

    def derived(self, model_cfg: ModelConfig) -> tuple[Derived, ...]:
        return () if is_centered(model_cfg) else (Derived("beta", ("channel",)),)

    def derive(self, name: str, params: Mapping[str, Any], model_cfg: ModelConfig) -> Any:
        if name != "beta":
            raise KeyError(name)
        return params["sigma_beta"][..., None] * params["beta_raw"]

    def model_data(self, features: FeatureSet) -> dict[str, np.ndarray]:
        return {
            "x_channels": features.x_channels,
            "x_controls": features.x_controls,
            "channels_at_zero": features.channels_at_zero,
        }

    def mean(self, params: Mapping[str, Any], data: Mapping[str, Any], xp: ArrayNamespace) -> Any:
        media = (data["x_channels"] * params["beta"][..., None, :]).sum(-1)
        controls = (data["x_controls"] * params["gamma"][..., None, :]).sum(-1)
        return params["intercept"][..., None] + media + controls

    def channel_terms(
        self, params: Mapping[str, Any], data: Mapping[str, Any], xp: ArrayNamespace
    ) -> Any:
        lift = data["x_channels"] - data["channels_at_zero"]
        return params["beta"][..., None, :] * lift

    def check(self, model_cfg: ModelConfig) -> None:
        """The channel prior takes its scale from sigma_beta in both parametrizations."""
        dist, params = prior_spec(model_cfg.beta)
        if dist not in SCALE_FAMILIES or "sigma" in params:
            raise ConfigError(
                f"model.beta: dist must be one of {SCALE_FAMILIES} without a sigma param (its "
                f"scale is sigma_beta, the shrinkage shared by channels); got {dist} {params}"
            )
        super().check(model_cfg)

    def native(self, features: FeatureSet, model_cfg: ModelConfig) -> Any | None:
        parameters = self.parameters(model_cfg)
        priors = native_priors(model_cfg, parameters)
        if priors is None:
            return None
        from mmm_runner.model import fixed_native

        return fixed_native.density(
            features, model_cfg, priors, parameters, self.dim_sizes(features)
        )


FIXED = FixedStructure()
