"""model.level=entity: one channel-major pass over the panel serves every per-draw output.

The entity structure's numpy equations (model/entity.py) hold draws x entities x periods x
channels with the channels innermost, where numpy's inner loops run over five numbers: on a
2,000-draw, 50 x 156 x 5 panel one pass of `mean` took about 8 s, and the outputs made four
(contributions, the fit twice, the response pieces). Here each entity's media block is evaluated
once, channels first (inner loops over periods), with the structure's operations in the same
order: every sum runs as numpy runs it there, so mu, the channel terms and the decomposition are
the structure's to the last bit. Each run checks that on its first draws against the structure's
own `mean` and `predict_entities`, so a change to its equations fails the run rather than
drifting from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.analysis.response import (
    CHECK_DRAWS,
    IDENTITY,
    LOG1P,
    MediaResponse,
    mismatch,
)
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.decomposition import Decomposition, channel_total, decompose
from mmm_runner.model.entity import EntityStructure
from mmm_runner.model.media import SPREAD_FLOOR, adstock_weights, saturate
from mmm_runner.model.parameters import Draws


@dataclass(frozen=True)
class EntityParts:
    """The per-entity decomposition over the training window, reduced for the entity tables."""

    totals: np.ndarray  # (S, E, C) each entity's channel contributions summed over periods
    fitted: np.ndarray  # (E, T) posterior means
    baseline: np.ndarray  # (E, T)
    contributions: np.ndarray  # (E, T, C)


@dataclass(frozen=True)
class PanelPass:
    mu: np.ndarray  # (S, E, T) each entity's mean on its model scale, every period of `features`
    responses: tuple[MediaResponse, ...]  # each entity's response pieces, training window
    brand: Decomposition | None = None  # summed over entities, training window
    entities: EntityParts | None = None


@dataclass(frozen=True)
class _Media:
    """One entity's media block, channels first: (C, S, T) and (C, S)."""

    carried: np.ndarray
    saturated: np.ndarray
    average: np.ndarray
    spread: np.ndarray


def panel_pass(
    structure: EntityStructure, draws: Draws, features: FeatureSet, decompose_parts: bool = True
) -> PanelPass:
    """mu over `features`' periods and each entity's response pieces, and (`decompose_parts`)
    the brand and per-entity decompositions over the training window: entity by entity, in
    blocks of draws (a block's temporaries stay in cache and in malloc's reuse)."""
    params = draws.values
    panel = features.panel
    data = structure.model_data(features)
    n_e, n_t = panel.target.shape
    n_fit = min(panel.n_fit, n_t)
    weights = adstock_weights(params["decay"], structure.recipe.max_lag).transpose(2, 0, 1)
    unit = structure._unit(features)[:, 0]  # original units per model unit, per entity
    reference = _Reference.of(structure, draws, features, n_fit)
    own = structure.model_data(reference.features)  # the training window's, for the checks
    mu_all = np.empty((draws.n_samples, n_e, n_t))
    sums = _Sums.empty(draws.n_samples, n_e, n_fit, len(features.channel_names))
    responses = []
    for e in range(n_e):
        # every draw at once: numpy's matmul (BLAS) rounds as for the structure's own shapes
        carried = np.matmul(weights, data["media_lags"][:, e].transpose(2, 0, 1))  # (C, S, T)
        average, spread = np.empty(carried.shape[:2]), np.empty(carried.shape[:2])
        for start in range(0, draws.n_samples, BLOCK):
            rows = slice(start, start + BLOCK)
            block = {name: value[rows] for name, value in params.items()}
            part = _media(structure, block, carried[:, rows], data["fit_weight"])
            average[:, rows], spread[:, rows] = part.average, part.spread
            beta = block["beta_entity"][:, e].T  # (C, S)
            z = (part.saturated - part.average[..., None]) / part.spread[..., None]
            lift = channel_total(beta[..., None] * z, 0)
            mu = block["intercept"][:, e, None] + lift + _controls(structure, block, data, e)
            mu_all[rows, e] = mu
            if decompose_parts:
                terms = (beta / part.spread)[..., None] * part.saturated
                parts = _decompose(structure, panel, e, unit[e], mu[:, :n_fit], terms[..., :n_fit])
                if start == 0:
                    reference.check(e, parts)
                sums.add(e, rows, parts)
        media = _Media(carried, carried, average, spread)  # (the response keeps no saturated h)
        responses.append(_response(structure, params, features, media, e, n_fit))
        _check_response(structure, responses[-1], params, _entity_data(own, e), e)
    reference.check_mu(mu_all)
    if not decompose_parts:
        return PanelPass(mu_all, tuple(responses))
    return PanelPass(mu_all, tuple(responses), sums.brand(), sums.entities(draws.n_samples))


BLOCK = 250  # draws per block of the entity pass


@dataclass
class _Sums:
    """Running sums of the per-entity decompositions, in the order numpy sums them in
    `predict_entities`' arrays: over entities one by one, over draws one by one."""

    fitted: np.ndarray  # (S, T) brand, summed over entities
    baseline: np.ndarray
    contributions: np.ndarray  # (C, S, T)
    totals: np.ndarray  # (S, E, C) each entity's contributions summed over periods
    over_draws: list[list[np.ndarray | None]]  # per entity: fitted, baseline, contributions

    @classmethod
    def empty(cls, n_s: int, n_e: int, n_t: int, n_c: int) -> _Sums:
        return cls(
            np.zeros((n_s, n_t)),
            np.zeros((n_s, n_t)),
            np.zeros((n_c, n_s, n_t)),
            np.zeros((n_s, n_e, n_c)),
            [[None, None, None] for _ in range(n_e)],
        )

    def add(self, e: int, rows: slice, parts: Decomposition) -> None:
        brand = (self.fitted[rows], self.baseline[rows], self.contributions[:, rows])
        values = (parts.fitted, parts.baseline, parts.contributions)
        for total, value in zip(brand, values, strict=True):
            if e == 0:
                total[...] = value
            else:
                total += value
        self.totals[rows, e] = parts.contributions.sum(axis=-1).T
        draw_axes = (0, 0, 1)
        for i, (value, axis) in enumerate(zip(values, draw_axes, strict=True)):
            running = self.over_draws[e][i]
            if running is not None:  # continue the sum over draws where the last block ended
                value = np.concatenate([np.expand_dims(running, axis), value], axis=axis)
            self.over_draws[e][i] = value.sum(axis=axis)

    def brand(self) -> Decomposition:
        # (S, T, C) over (S, C, T) memory, as `predict_entities` lays its sums out: numpy's sums
        # over periods then run in the same order (contribution_summary.json to the last bit)
        contributions = np.ascontiguousarray(self.contributions.swapaxes(0, 1)).swapaxes(1, 2)
        return Decomposition(self.fitted, self.baseline, contributions)

    def entities(self, n_s: int) -> EntityParts:
        fitted, baseline, contributions = (
            np.stack([entity[i] for entity in self.over_draws]) / n_s for i in range(3)
        )
        return EntityParts(self.totals, fitted, baseline, contributions.transpose(0, 2, 1))


def _media(
    structure: EntityStructure,
    params: dict[str, np.ndarray],
    carried: np.ndarray,
    fit_weight: np.ndarray,
) -> _Media:
    """An entity's saturated media and the window's mean and sd of h from its carried-over
    media (C, S, T): the operations of `EntityStructure.saturated` and `standardized`."""
    recipe = structure.recipe
    saturated = carried
    if recipe.family != "none":
        k = params["half_saturation"].T[:, :, None]
        slope = params["slope"].T[:, :, None] if recipe.learn_slope else recipe.slope
        saturated = saturate(carried, k, slope, recipe.family, np)
    average = (saturated * fit_weight).sum(axis=-1)
    centred = saturated - average[..., None]
    spread = np.sqrt((centred * centred * fit_weight).sum(axis=-1) + SPREAD_FLOOR**2)
    return _Media(carried, saturated, average, spread)


def _entity_data(data: dict[str, np.ndarray], e: int) -> dict[str, np.ndarray]:
    """The structure's data for entity e alone (an entity axis of one)."""
    return {
        "media_lags": data["media_lags"][:, e : e + 1],
        "x_controls": data["x_controls"][e : e + 1],
        "fit_weight": data["fit_weight"],
    }


def _controls(
    structure: EntityStructure, params: dict[str, np.ndarray], data: dict[str, np.ndarray], e: int
) -> np.ndarray:
    """(S, T) entity e's controls term, X_controls @ gamma summed as `EntityStructure.mean`."""
    gamma = params["gamma"][:, e] if structure.controls_by_entity else params["gamma"]
    x = data["x_controls"][e]  # (T, J)
    planes = x.T[:, None, :] * gamma.T[:, :, None]  # (J, S, T)
    return channel_total(planes, 0)


def _decompose(
    structure: EntityStructure,
    panel: Any,
    e: int,
    unit: float,
    mu: np.ndarray,
    terms: np.ndarray,
) -> Decomposition:
    """Entity e's fitted, baseline and (C, S, T) contributions, as `predict_entities`."""
    if structure.additive:
        fitted = mu * unit
        contributions = terms * unit
        return Decomposition(fitted, fitted - channel_total(contributions, 0), contributions)
    parts = decompose(mu, terms, panel.target_offset[e], channel_axis=0)
    return Decomposition(parts.fitted * unit, parts.baseline * unit, parts.contributions * unit)


def _response(
    structure: EntityStructure,
    params: dict[str, np.ndarray],
    features: FeatureSet,
    media: _Media,
    e: int,
    n_fit: int,
) -> MediaResponse:
    """Entity e's `MediaResponse` over the training window (docs/model.md, "Entity level")."""
    panel, recipe = features.panel, structure.recipe
    n_c = len(features.channel_names)
    ones = np.ones((1, n_c))
    coef = params["beta_entity"][:, e] / media.spread.T
    gamma = params["gamma"][:, e] if structure.controls_by_entity else params["gamma"]
    controls = np.einsum("tj,sj->st", panel.x_controls[e, :n_fit], gamma)
    base = params["intercept"][:, e, None] + controls - (coef * media.average.T).sum(-1)[:, None]
    unit = float(panel.population_factor[e])
    additive = structure.additive
    return MediaResponse(
        channels=tuple(features.channel_names),
        family=recipe.family,
        carried=media.carried.transpose(1, 2, 0)[:, :n_fit],  # (S, T, C) over (C, S, T) memory
        half_saturation=np.asarray(
            params["half_saturation"] if recipe.family != "none" else ones, dtype=float
        ),
        slope=np.asarray(params["slope"] if recipe.learn_slope else ones * recipe.slope),
        coef=coef,
        base=base,
        link=IDENTITY if additive else LOG1P,
        offset=0.0 if additive else float(panel.target_offset[e] + np.log(unit)),
        scale=unit * float(panel.target_mean[e]) if additive else 1.0,
        weight=np.ones(n_fit),
    )


@dataclass(frozen=True)
class _Reference:
    """The structure's own numbers on the first draws, to check the pass against."""

    structure: EntityStructure
    features: FeatureSet  # the training window
    parts: Decomposition
    mu: np.ndarray
    n: int

    @classmethod
    def of(
        cls, structure: EntityStructure, draws: Draws, features: FeatureSet, n_fit: int
    ) -> _Reference:
        n = min(CHECK_DRAWS, draws.n_samples)
        subset = Draws({name: value[:n] for name, value in draws.values.items()}, n)
        training = features.training if n_fit < features.panel.target.shape[1] else features
        parts = structure.predict_entities(subset, training)
        return cls(structure, training, parts, structure.mu(subset, features), n)

    def check(self, e: int, parts: Decomposition) -> None:
        ours = (parts.fitted, parts.baseline, np.moveaxis(parts.contributions, 0, -1))
        theirs = (
            self.parts.fitted[:, e],
            self.parts.baseline[:, e],
            self.parts.contributions[:, e],
        )
        if not all(_close(a[: self.n], b) for a, b in zip(ours, theirs, strict=True)):
            raise ValueError(
                f"{self.structure.name}: the decomposition of entity {e} does not match "
                "predict_entities"
            )

    def check_mu(self, mu: np.ndarray) -> None:
        if not _close(mu[: self.n], self.mu):
            raise ValueError(f"{self.structure.name}: the entity pass does not reproduce mu")


def _close(ours: np.ndarray, theirs: np.ndarray) -> bool:
    scale = np.abs(theirs).max(initial=0.0) + 1.0
    return bool(np.allclose(ours, theirs, rtol=1e-9, atol=1e-12 * scale))


def _check_response(
    structure: EntityStructure,
    part: MediaResponse,
    params: dict[str, np.ndarray],
    own: dict[str, np.ndarray],
    entity: int,
) -> None:
    """Entity `entity`'s response pieces reproduce the structure's mu and channel terms (on the
    first CHECK_DRAWS draws)."""
    n = min(CHECK_DRAWS, part.n_draws)
    subset = {name: value[:n] for name, value in params.items()}
    subset["intercept"] = subset["intercept"][:, entity : entity + 1]
    subset["beta_entity"] = subset["beta_entity"][:, entity : entity + 1]
    if structure.controls_by_entity:
        subset["gamma"] = subset["gamma"][:, entity : entity + 1]
    terms = structure.channel_terms(subset, own, np)[:, 0]
    mu = structure.mean(subset, own, np)[:, 0]
    if mismatch(part, terms, mu, n):
        raise ValueError(f"{structure.name}: the response of entity {entity} does not match")
