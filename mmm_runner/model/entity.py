"""`model.level=entity`: the learned (or additive) structure fitted on the entity panel.

Summing stores or regions into one brand series throws away the variation between them, which
is what identifies media effects best when spend differs by entity. Here every entity keeps its
own series (docs/model.md, "Entity level"):

    mu[e, t] = intercept[e] + sum_c beta[e, c] z[e, t, c] + X_controls[e, t] @ gamma(e)
    beta[e, c] = beta[c] * exp(tau[c] * beta_z[e, c]),  beta_z ~ Normal(0, 1),  tau ~ HalfNormal
    z[e, t, c] = h_c(adstock_c(x[e, t, c])) z-scored over entity e's training window

decay_c and half_saturation_c are shared by entities, so carry-over and saturation are learned
from the whole panel; beta[c] is the channel's median effect and tau[c] how much entities differ.
The target is on each entity's own scale (log1p, centred by the entity's mean; or divided by its
mean), per capita with `dataset.population_col`. Brand outputs are sums over entities per draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from mmm_runner.config.schema import ModelConfig
from mmm_runner.errors import ConfigError
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.decomposition import Decomposition, decompose
from mmm_runner.model.learned import LearnedStructure, MediaRecipe
from mmm_runner.model.likelihood import noise_draws, pointwise_log_likelihood
from mmm_runner.model.media import adstock_weights, lagged, saturate
from mmm_runner.model.parameters import Derived, Draws, Parameter
from mmm_runner.model.priors import PriorSpec, native_priors
from mmm_runner.model.structure import ArrayNamespace

ADDITIVE_METHOD = (
    "additive, per entity: a channel's contribution is its term times the entity's scale; "
    "brand = sum over entities per draw, so baseline + sum(channels) = fitted exactly"
)
LOG_METHOD = (
    "log-space proportional split per entity (fitted = expm1(mu + m_e) per entity; baseline with "
    "every channel at h_c = 0; the lift shared in proportion to beta[e, c] h_c); brand = sum over "
    "entities per draw, so baseline + sum(channels) = fitted exactly"
)


def _log(x: Any) -> Any:
    if isinstance(x, np.ndarray | float | int):
        return np.log(x)
    import pytensor.tensor as pt

    return pt.log(x)


def _exp(x: Any) -> Any:
    if isinstance(x, np.ndarray | float | int):
        return np.exp(x)
    import pytensor.tensor as pt

    return pt.exp(x)


class EntityStructure(LearnedStructure):
    """The learned media block with entity-level intercepts, scales and pooled effects."""

    data_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "media_lags": ("lag", "entity", "period", "channel"),
        "x_controls": ("entity", "period", "control"),
        "fit_weight": ("period",),
    }
    observed_dims: ClassVar[tuple[str, ...]] = ("entity", "period")

    def __init__(
        self,
        recipe: MediaRecipe,
        additive: bool,
        controls_by_entity: bool,
        centred: bool | tuple[bool, ...] = True,
    ) -> None:
        super().__init__(recipe)
        self.additive = additive
        self.controls_by_entity = controls_by_entity
        # per channel (or one for all): centred samples entity_effect = log beta[e, c] ~
        # Normal(log beta[c], tau[c]); non-centred entity_effect = beta_z ~ Normal(0, 1). The same
        # model: centred suits channels whose entities' data pin their effects, non-centred the rest
        self.centred = centred
        self.name = ("additive" if additive else "learned") + "_entity"  # type: ignore[misc]
        self.contribution_method = ADDITIVE_METHOD if additive else LOG_METHOD  # type: ignore[misc]
        self.description = (  # type: ignore[misc]
            f"{'y / s_e' if additive else 'log1p(y) - m_e'} per entity ~ likelihood(intercept_e "
            "+ sum_c beta[e, c] * z_c(saturation_c(adstock_c(x[e, c]))) + X_controls @ gamma, "
            "sigma); beta[e, c] = beta[c] exp(tau[c] beta_z[e, c]); decay_c, half_saturation_c "
            "shared by entities"
        )

    # ------------------------------------------------------------------ parameters
    def parameters(self, model_cfg: ModelConfig) -> tuple[Parameter, ...]:
        out: list[Parameter] = []
        for param in super().parameters(model_cfg):
            if param.name == "intercept":
                param = Parameter("intercept", ("entity",), "identity", "intercept", None, "Normal")
            elif param.name == "gamma" and self.controls_by_entity:
                dims = ("entity", "control")
                param = Parameter("gamma", dims, "identity", "gamma", None, "Normal")
            out.append(param)
            if param.name in ("beta", "beta_raw"):
                out.append(Parameter("tau", ("channel",), "log", "tau", None, "HalfNormal"))
                out.append(Parameter("entity_effect", ("entity", "channel"), "identity", None))
        return tuple(out)

    def derived(self, model_cfg: ModelConfig) -> tuple[Derived, ...]:
        return (*super().derived(model_cfg), Derived("beta_entity", ("entity", "channel")))

    def derive(self, name: str, params: Mapping[str, Any], model_cfg: ModelConfig) -> Any:
        if name != "beta_entity":
            return super().derive(name, params, model_cfg)
        effect = params["entity_effect"]
        mask = np.asarray(self.centred, dtype=float)  # one form for all, or (C,)
        if mask.all():
            return _exp(effect)
        beta = params["beta"] if "beta" in params else super().derive("beta", params, model_cfg)
        pooled = _log(beta)[..., None, :] + params["tau"][..., None, :] * effect
        return _exp(mask * effect + (1.0 - mask) * pooled)

    def centred_mask(self, n_channels: int) -> np.ndarray:
        """(C,) 1.0 where the channel's entity effects are sampled centred, 0.0 non-centred."""
        if isinstance(self.centred, bool):
            return np.full(n_channels, float(self.centred))
        if len(self.centred) != n_channels:  # a run's config and its data disagree
            raise ConfigError(
                f"model.entity_centred: {len(self.centred)} channels given, the data have "
                f"{n_channels}"
            )
        return np.array(self.centred, dtype=float)

    def prior(self, param: Parameter, model_cfg: ModelConfig, features: FeatureSet) -> PriorSpec:
        if param.name == "entity_effect":  # Normal(0, 1), or Normal(log beta[c], tau[c]) centred
            return PriorSpec("Normal", {}, "tau")  # mu and sigma: `prior_links`
        return super().prior(param, model_cfg, features)

    def prior_links(self, param: Parameter, params: Mapping[str, Any]) -> dict[str, Any]:
        if param.name != "entity_effect":
            return super().prior_links(param, params)
        import pytensor.tensor as pt

        beta = params.get("beta")
        if beta is None:  # beta_parametrization=non_centered: beta is derived after the loop
            beta = params["sigma_beta"] * params["beta_raw"]
        mask = np.asarray(self.centred, dtype=float)  # one form for all, or (C,)
        return {
            "mu": (mask * pt.log(beta))[None, :],
            "sigma": (mask * params["tau"] + (1.0 - mask))[None, :],
        }

    def prior_draws(
        self, model_cfg: ModelConfig, features: FeatureSet, n: int, seed: int = 0
    ) -> dict[str, np.ndarray]:
        draws = super().prior_draws(model_cfg, features, n, seed)
        effect = draws["entity_effect"]  # standard normal: the non-centred channels' draws
        mask = self.centred_mask(effect.shape[-1])
        if mask.any():
            beta = draws.get("beta")
            if beta is None:
                beta = self.derive("beta", draws, model_cfg)
            centred = np.log(beta)[:, None, :] + draws["tau"][:, None, :] * effect
            draws["entity_effect"] = np.where(mask > 0, centred, effect)
        return draws

    def mass_matrix(self) -> str:
        """`low_rank` when any channel is centred: its entity effects move with log beta[c], and a
        non-centred channel beside it has its beta[c]-deviation ridge, both directions a low-rank
        correction learns (50-entity panel, all centred: 48 s of sampling, min ESS 1962, against
        78 s and 1192 with diag; mixed: min ESS 870 against 295). All non-centred, the deviations
        are nearly independent and diag mixes tau better (google/meridian's geo panel:
        converged, ESS 695, against R-hat 1.015 and ESS 326 with low_rank)."""
        return "low_rank" if np.any(self.centred) else "diag"

    def native(self, features: FeatureSet, model_cfg: ModelConfig) -> Any | None:
        """model/entity_native.py for a centred beta and native-family priors; else None (nutpie
        samples the compiled PyMC graph)."""
        parameters = self.parameters(model_cfg)
        if native_priors(model_cfg, parameters) is None:
            return None
        from mmm_runner.model import entity_native

        return entity_native.density(self, features, model_cfg, parameters)

    # ------------------------------------------------------------------ data
    def dim_sizes(self, features: FeatureSet) -> dict[str, int]:  # type: ignore[override]
        panel = features.panel
        return {
            "channel": len(features.channel_names),
            "control": len(features.control_names),
            "period": panel.target.shape[1],
            "entity": panel.n_entities,
        }

    def parameter_count(self, model_cfg: ModelConfig, dim_sizes: Mapping[str, int]) -> int:
        """Per entity's worth of data: the data layer checks periods, not entity x periods."""
        return super().parameter_count(model_cfg, {"entity": 1, **dim_sizes})

    def coords(self, features: FeatureSet) -> dict[str, Any]:
        return {
            **super().coords(features),
            "entity": features.panel.entity_names,
            "period": np.arange(features.panel.target.shape[1]),
        }

    def model_data(self, features: FeatureSet) -> dict[str, np.ndarray]:
        panel = features.panel
        n_t = panel.target.shape[1]
        weight = np.zeros(n_t)
        n_fit = min(panel.n_fit, n_t)
        weight[:n_fit] = 1.0 / n_fit
        lags = np.stack([lagged(m, self.recipe.max_lag) for m in panel.media_scaled], axis=1)
        return {"media_lags": lags, "x_controls": panel.x_controls, "fit_weight": weight}

    # ------------------------------------------------------------------ equations
    def saturated(self, params: Mapping[str, Any], data: Mapping[str, Any], xp: Any) -> Any:
        """(..., E, T, C) h[e, t, c]: media after the shared carry-over and saturation."""
        weights = adstock_weights(params["decay"], self.recipe.max_lag)  # (..., L+1, C)
        if xp is np:  # one batched matrix product per channel (BLAS), not numpy's einsum
            lags = data["media_lags"]
            n_l, n_e, n_t, n_c = lags.shape
            per_channel = np.matmul(
                weights.reshape(-1, n_l, n_c).transpose(2, 0, 1),
                lags.reshape(n_l, n_e * n_t, n_c).transpose(2, 0, 1),
            )  # (C, S, E T)
            carried = per_channel.transpose(1, 2, 0).reshape(*weights.shape[:-2], n_e, n_t, n_c)
        else:
            carried = xp.einsum("...lc,letc->...etc", weights, data["media_lags"])
        if self.recipe.family == "none":
            return carried
        k = params["half_saturation"][..., None, None, :]
        slope = (
            params["slope"][..., None, None, :] if self.recipe.learn_slope else self.recipe.slope
        )
        return saturate(carried, k, slope, self.recipe.family, xp)

    def channel_terms(
        self, params: Mapping[str, Any], data: Mapping[str, Any], xp: ArrayNamespace
    ) -> Any:
        """(..., E, T, C) beta[e, c] h / sd(h): each channel's lift over zero media."""
        saturated, _, spread = self.standardized(params, data, xp)
        return (params["beta_entity"] / spread)[..., None, :] * saturated

    def mean(self, params: Mapping[str, Any], data: Mapping[str, Any], xp: ArrayNamespace) -> Any:
        """(..., E, T) mu per entity, each channel's h z-scored over the entity's window."""
        saturated, average, spread = self.standardized(params, data, xp)
        z = (saturated - average[..., None, :]) / spread[..., None, :]
        media = (params["beta_entity"][..., None, :] * z).sum(-1)
        gamma = params["gamma"]
        gamma = gamma[..., :, None, :] if self.controls_by_entity else gamma[..., None, None, :]
        controls = (data["x_controls"] * gamma).sum(-1)
        return params["intercept"][..., None] + media + controls

    # ------------------------------------------------------------------ target scales
    def observed(self, features: FeatureSet) -> np.ndarray:
        panel = features.panel
        if self.additive:
            per_head = panel.target / panel.population_factor[:, None]
            return per_head / panel.target_mean[:, None]
        return panel.target_log_centered

    def _unit(self, features: FeatureSet) -> np.ndarray:
        """(E, 1) original units per model unit: population factor (x scale s_e if additive)."""
        panel = features.panel
        unit = panel.population_factor * (panel.target_mean if self.additive else 1.0)
        return unit[:, None]

    def to_original(self, values: np.ndarray, features: FeatureSet) -> np.ndarray:
        """(..., E, T) model scale to the target's units, per entity."""
        unit = self._unit(features)
        if self.additive:
            return values * unit
        return np.expm1(values + features.panel.target_offset[:, None]) * unit

    def log_jacobian(self, features: FeatureSet) -> np.ndarray:
        panel = features.panel
        unit = self._unit(features)
        if self.additive:
            return np.broadcast_to(-np.log(unit), panel.target.shape)
        return -np.log1p(panel.target / unit) - np.log(unit)

    # ------------------------------------------------------------------ per entity
    def predict_entities(self, draws: Draws, features: FeatureSet) -> Decomposition:
        """Per draw, entity and period: fitted, baseline and contributions, original units."""
        data = self.model_data(features)
        mu = self.mean(draws.values, data, np)
        terms = self.channel_terms(draws.values, data, np)
        unit = self._unit(features)
        if self.additive:
            fitted = mu * unit
            contributions = terms * unit[..., None]
            return Decomposition(fitted, fitted - contributions.sum(-1), contributions)
        parts = decompose(mu, terms, features.panel.target_offset[:, None])
        return Decomposition(
            parts.fitted * unit, parts.baseline * unit, parts.contributions * unit[..., None]
        )

    def mu(self, draws: Draws, features: FeatureSet) -> np.ndarray:
        """(S, E, T) mean on each entity's model scale."""
        return self.mean(draws.values, self.model_data(features), np)

    # ------------------------------------------------------------------ brand totals
    def predict(self, draws: Draws, features: FeatureSet) -> Decomposition:
        """Brand level: per draw and period, the sums over entities."""
        return brand_total(self.predict_entities(draws, features))

    def log_likelihood(self, draws: Draws, features: FeatureSet) -> np.ndarray:
        """(S, E x T) pointwise log-likelihood on the target's scale, entity-major; computed in
        blocks of draws (a 50-entity panel's mu for 2,000 draws at once is 600 MB per array)."""
        data = self.model_data(features)
        observed = self.observed(features).ravel()
        jacobian = self.log_jacobian(features).ravel()
        out = np.empty((draws.n_samples, observed.size))
        for rows, block in draws.blocks(data["media_lags"][0].size):
            mu = self.mean(block.values, data, np).reshape(block.n_samples, -1)
            out[rows] = pointwise_log_likelihood(mu, observed, block["sigma"], block.get("nu"))
            out[rows] += jacobian
        return out

    def predictive(
        self, draws: Draws, features: FeatureSet, rng: np.random.Generator
    ) -> np.ndarray:
        """(S, T) brand-total predictive draws: each entity's noise, summed."""
        mu = self.mu(draws, features)
        noise = noise_draws(draws, (mu.shape[0], mu[0].size), rng).reshape(mu.shape)
        return self.to_original(mu + noise, features).sum(-2)

    def fitted_level(self, draws: Draws, features: FeatureSet) -> np.ndarray:
        return self.to_original(self.mu(draws, features), features).sum(-2)


# `entity_parametrization: auto`: a channel is sampled centred when its entities' own data measure
# their effects to within this relative standard error (median over entities), half of tau's
# prior median (0.2): the data, not the pooling, then decide each entity's effect, and the
# non-centred deviations would couple to beta[c] along a ridge. Measured: simulated panels with
# 156 weeks per entity 0.05-0.28 by channel (centred everywhere left 5 of 6 fits at R-hat 1.011-
# 1.013, the weak channels' tau in the funnel; non-centred everywhere, R-hat 1.04 on the well
# measured ones of a 50-entity panel); google/meridian's geo panel 0.49-0.95 (non-centred).
CENTRED_BELOW = 0.1


def choose_parametrization(
    structure: EntityStructure, features: FeatureSet
) -> tuple[dict[str, bool], dict[str, float]]:
    """Per channel, whether to sample its entity effects centred, and its relative standard error.

    Per entity, least squares of the model-scale target on the channels' z-scored media (carry-
    over and saturation at their prior centres) and the controls; a channel's relative error is
    the median over entities of se(b[e, c]) over the median |b[e, c]|. Cheap (milliseconds) and
    decided before sampling, so the run is reproducible from its config.
    """
    panel = features.panel
    names = features.channel_names
    recipe = structure.recipe
    params: dict[str, Any] = {"decay": np.array([features.decays[c] for c in names])}
    params["half_saturation"] = np.full(len(names), recipe.half_saturation)
    params["slope"] = np.full(len(names), recipe.slope)
    saturated, average, spread = structure.standardized(params, structure.model_data(features), np)
    z = (saturated - average[:, None, :]) / spread[:, None, :]
    observed, n_fit = structure.observed(features), min(panel.n_fit, panel.target.shape[1])
    estimates, errors = [], []
    for e in range(panel.n_entities):
        design = np.column_stack([np.ones(n_fit), z[e, :n_fit], panel.x_controls[e, :n_fit]])
        coef, *_ = np.linalg.lstsq(design, observed[e, :n_fit], rcond=None)
        resid = observed[e, :n_fit] - design @ coef
        dof = max(n_fit - design.shape[1], 1)
        cov = (resid @ resid / dof) * np.linalg.pinv(design.T @ design)
        estimates.append(coef[1 : 1 + len(names)])
        errors.append(np.sqrt(np.maximum(np.diag(cov)[1 : 1 + len(names)], 0.0)))
    scale = np.maximum(np.median(np.abs(estimates), axis=0), 1e-12)
    relative = {
        c: round(float(r), 4) for c, r in zip(names, np.median(errors, axis=0) / scale, strict=True)
    }
    return {c: r < CENTRED_BELOW for c, r in relative.items()}, relative


def brand_total(parts: Decomposition) -> Decomposition:
    """Per-entity parts (..., E, T[, C]) summed over entities: the brand's decomposition."""
    return Decomposition(parts.fitted.sum(-2), parts.baseline.sum(-2), parts.contributions.sum(-3))
