"""`model=default` (structure `learned`) and `model=additive`: carryover and saturation learned.

Each channel's decay and half-saturation point (and optionally its Hill slope) are parameters;
the feature config states the prior belief, the model config its strength (docs/model.md):

    mu = intercept + sum_c beta_c h_c[t] + X_controls @ gamma        (media block: media.py)
    learned:   log1p(y) - m ~ likelihood(mu, sigma)    contributions: log-space split
    additive:  y / s        ~ likelihood(mu, sigma)    contributions: s * beta_c * h_c[t]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mmm_runner.config.schema import FeaturesConfig, ModelConfig, value_of
from mmm_runner.errors import ConfigError
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.decomposition import METHOD, Decomposition
from mmm_runner.model.fixed import FixedStructure
from mmm_runner.model.media import SPREAD_FLOOR, adstock, lagged, saturate
from mmm_runner.model.parameters import Draws, Parameter
from mmm_runner.model.priors import PriorSpec, native_priors
from mmm_runner.model.structure import ArrayNamespace, Evaluation

DECAY_MEAN_RANGE = (0.02, 0.98)  # a configured decay of 0 or ~1 still leaves a proper Beta


@dataclass(frozen=True)
class MediaRecipe:
    """What the feature config says about the media block of a learned structure."""

    family: str  # hill | logistic | none (saturation disabled)
    max_lag: int
    half_saturation: float  # prior centre of K (share of the scaled media's range)
    slope: float  # Hill S: fixed value, or prior centre when learned
    learn_slope: bool

    @classmethod
    def from_config(cls, features_cfg: FeaturesConfig, model_cfg: ModelConfig) -> MediaRecipe:
        sat = features_cfg.saturation
        family = value_of(sat.type) if sat.enabled else "none"
        return cls(
            family=family,
            max_lag=int(features_cfg.adstock.max_lag),
            half_saturation=float(sat.K),
            slope=float(sat.S),
            learn_slope=bool(model_cfg.slope.learn) and family == "hill",
        )


class LearnedStructure(FixedStructure):
    """Log-space structure with learned transforms; shares fixed's baseline block and priors."""

    name = "learned"
    description = (
        "log1p(y) - m ~ likelihood(intercept + sum_c beta_c * saturation_c(adstock_c(x_c)) "
        "+ X_controls @ gamma, sigma); decay_c, half_saturation_c (and slope_c) learned"
    )
    contribution_method = METHOD.replace(
        "beta_c * (x_c - x_c_at_zero)", "beta_c * h_c (the saturated, carried-over media)"
    )
    data_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "media_lags": ("lag", "period", "channel"),
        "x_controls": ("period", "control"),
        "fit_weight": ("period",),
    }

    def __init__(self, recipe: MediaRecipe) -> None:
        self.recipe = recipe

    def parameters(self, model_cfg: ModelConfig) -> tuple[Parameter, ...]:
        intercept, sigma_beta, beta, gamma, *noise = super().parameters(model_cfg)
        media = [Parameter("decay", ("channel",), "logit", native_family="Beta")]
        if self.recipe.family != "none":
            media.append(
                Parameter("half_saturation", ("channel",), "log", native_family="LogNormal")
            )
        if self.recipe.learn_slope:
            media.append(Parameter("slope", ("channel",), "log", native_family="LogNormal"))
        return (intercept, sigma_beta, beta, *media, gamma, *noise)

    def prior(self, param: Parameter, model_cfg: ModelConfig, features: FeatureSet) -> PriorSpec:
        n = len(features.channel_names)
        if param.name == "decay":
            low, high = DECAY_MEAN_RANGE
            mean = np.clip([features.decays[c] for c in features.channel_names], low, high)
            conc = float(model_cfg.decay.concentration)
            return PriorSpec(
                "Beta", {"alpha": mean * conc, "beta": (1 - mean) * conc}, "decay.concentration"
            )
        if param.name == "half_saturation":
            centre = np.full(n, np.log(self.recipe.half_saturation))
            sigma = float(model_cfg.half_saturation.sigma)
            return PriorSpec("LogNormal", {"mu": centre, "sigma": sigma}, "half_saturation.sigma")
        if param.name == "slope":
            centre = np.full(n, np.log(self.recipe.slope))
            return PriorSpec(
                "LogNormal", {"mu": centre, "sigma": float(model_cfg.slope.sigma)}, "slope.sigma"
            )
        return super().prior(param, model_cfg, features)

    def check(self, model_cfg: ModelConfig) -> None:
        rules = [
            ("model.decay.concentration", model_cfg.decay.concentration > 0),
            ("model.half_saturation.sigma", model_cfg.half_saturation.sigma > 0),
            ("model.slope.sigma", model_cfg.slope.sigma > 0),
        ]
        for key, ok in rules:
            if not ok:
                raise ConfigError(f"{key}: must be > 0")
        super().check(model_cfg)

    def coords(self, features: FeatureSet) -> dict[str, Any]:
        return {**super().coords(features), "lag": np.arange(self.recipe.max_lag + 1)}

    def model_data(self, features: FeatureSet) -> dict[str, np.ndarray]:
        weight = np.zeros(len(features.target))
        weight[: features.n_fit] = 1.0 / features.n_fit
        return {
            "media_lags": lagged(features.media_scaled, self.recipe.max_lag),
            "x_controls": features.x_controls,
            "fit_weight": weight,  # averages over the training window (centring below)
        }

    def saturated(self, params: Mapping[str, Any], data: Mapping[str, Any], xp: Any) -> Any:
        """(..., T, C) h_c[t]: each channel's media after carryover and saturation."""
        carried = adstock(params["decay"], data["media_lags"], self.recipe.max_lag, xp)
        if self.recipe.family == "none":
            return carried
        k = params["half_saturation"][..., None, :]
        slope = params["slope"][..., None, :] if self.recipe.learn_slope else self.recipe.slope
        return saturate(carried, k, slope, self.recipe.family, xp)

    def standardized(
        self, params: Mapping[str, Any], data: Mapping[str, Any], xp: Any
    ) -> tuple[Any, Any, Any]:
        """h, its training-window mean and standard deviation (each channel's z-score)."""
        saturated = self.saturated(params, data, xp)
        weight = data["fit_weight"][:, None]
        average = (saturated * weight).sum(-2)
        centred = saturated - average[..., None, :]
        spread = xp.sqrt((centred * centred * weight).sum(-2) + SPREAD_FLOOR**2)
        return saturated, average, spread

    def channel_terms(
        self, params: Mapping[str, Any], data: Mapping[str, Any], xp: ArrayNamespace
    ) -> Any:
        """beta_c h_c / sd(h_c): the lift over zero media of the z-scored term in `mean`."""
        return self._terms(params, self.standardized(params, data, xp))

    def _terms(self, params: Mapping[str, Any], media: tuple[Any, Any, Any]) -> Any:
        saturated, _, spread = media
        return (params["beta"] / spread)[..., None, :] * saturated

    def mean(self, params: Mapping[str, Any], data: Mapping[str, Any], xp: ArrayNamespace) -> Any:
        """mu with each channel's h z-scored over the training window, as `fixed` z-scores.

        beta is then the effect of one standard deviation of the channel's transformed media
        (the meaning it has in `fixed`), nearly independent of decay and K, and the intercept
        is the mean level of mu: NUTS needs far fewer steps than with raw h (docs/model.md).
        """
        return self._mean(params, data, self.standardized(params, data, xp))

    def evaluate(self, draws: Draws, features: FeatureSet) -> Evaluation:
        """`mean` and `channel_terms` from one pass of the media block, most of their cost. A
        subclass restating the equations (the entity level) evaluates them as it states them."""
        own = type(self).mean, type(self).channel_terms
        if own != (LearnedStructure.mean, LearnedStructure.channel_terms):
            return super().evaluate(draws, features)
        data = self.model_data(features)
        media = self.standardized(draws.values, data, np)
        return Evaluation(
            self._mean(draws.values, data, media), self._terms(draws.values, media), media
        )

    def _mean(
        self, params: Mapping[str, Any], data: Mapping[str, Any], media: tuple[Any, Any, Any]
    ) -> Any:
        saturated, average, spread = media
        z = (saturated - average[..., None, :]) / spread[..., None, :]
        lift = (params["beta"][..., None, :] * z).sum(-1)
        controls = (data["x_controls"] * params["gamma"][..., None, :]).sum(-1)
        return params["intercept"][..., None] + lift + controls

    def native(self, features: FeatureSet, model_cfg: ModelConfig) -> Any | None:
        parameters = self.parameters(model_cfg)
        if native_priors(model_cfg, parameters) is None:
            return None
        from mmm_runner.model import learned_native

        return learned_native.density(self, features, model_cfg, parameters)


class AdditiveStructure(LearnedStructure):
    """Channels add sales: the target is scaled by its training mean s, not logged."""

    name = "additive"
    description = (
        "y / s ~ likelihood(intercept + sum_c beta_c * saturation_c(adstock_c(x_c)) "
        "+ X_controls @ gamma, sigma); s = mean target; decay_c, half_saturation_c learned"
    )
    contribution_method = (
        "additive: a channel's contribution is s * beta_c * h_c[t]; baseline = fitted - "
        "sum(channels), so baseline + sum(channels) = fitted exactly"
    )

    def observed(self, features: FeatureSet) -> np.ndarray:
        return features.target / features.target_mean

    def to_original(self, values: np.ndarray, features: FeatureSet) -> np.ndarray:
        return values * features.target_mean

    def log_jacobian(self, features: FeatureSet) -> np.ndarray:
        return np.full(len(features.target), -np.log(features.target_mean))

    def decompose(self, mu: np.ndarray, terms: np.ndarray, features: FeatureSet) -> Decomposition:
        fitted = self.to_original(mu, features)
        contributions = self.to_original(terms, features)
        return Decomposition(fitted, fitted - contributions.sum(-1), contributions)
