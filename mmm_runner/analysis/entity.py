"""model.level=entity outputs: per-entity ROAS and contributions, and the brand-total response.

Brand artifacts are computed as for a brand fit from the structure's `predict` (sums over
entities per draw). Here: `entity_roi_metrics.parquet` (per entity and channel: spend,
contribution and ROAS with 94% HDIs), `entity_contributions.parquet` (per entity and period:
actual, fitted, baseline, channels; posterior means) and `PanelResponse`, the brand total's
response to spend as the sum of each entity's `MediaResponse` (docs/model.md, "Entity level").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmm_runner.analysis.intervals import HDI_PROB, hdi
from mmm_runner.analysis.response import (
    CHECK_DRAWS,
    IDENTITY,
    LOG1P,
    MediaResponse,
    _carried,
    _saturate,
)
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.decomposition import Decomposition
from mmm_runner.model.entity import EntityStructure
from mmm_runner.model.parameters import Draws


def entity_tables(
    structure: EntityStructure,
    draws: Draws,
    features: FeatureSet,
    parts: Decomposition | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(entity ROI table, entity contributions table) over `features`' periods.

    `parts`: `structure.predict_entities(draws, features)` when the caller already has it."""
    panel = features.panel
    parts = parts if parts is not None else structure.predict_entities(draws, features)
    channels = features.channel_names
    totals = parts.contributions.sum(axis=2)  # (S, E, C)
    spend = panel.spend.sum(axis=1)  # (E, C)
    n_e, n_c = spend.shape
    safe = np.where(spend > 0, spend, 1.0)
    roas = totals / safe
    c_lower, c_upper = hdi(totals)
    r_lower, r_upper = hdi(roas)
    no_spend = np.broadcast_to(spend <= 0, (n_e, n_c)).ravel()

    def per_row(values: np.ndarray) -> np.ndarray:
        return np.where(no_spend, np.nan, values.ravel())

    roi = pd.DataFrame(
        {
            "entity_id": np.repeat(panel.entity_names, n_c),
            "channel": np.tile(channels, n_e),
            "spend": spend.ravel(),
            "contribution_mean": totals.mean(axis=0).ravel(),
            "contribution_hdi_lower": c_lower.ravel(),
            "contribution_hdi_upper": c_upper.ravel(),
            "roas_mean": per_row(roas.mean(axis=0)),
            "roas_sd": per_row(roas.std(axis=0)),
            "roas_hdi_lower": per_row(r_lower),
            "roas_hdi_upper": per_row(r_upper),
        }
    )
    roi["roi_mean"] = roi["roas_mean"] - 1.0
    roi["hdi_prob"] = HDI_PROB
    roi["method"] = structure.contribution_method

    n_e, n_t = panel.target.shape
    contributions = pd.DataFrame(
        {
            "entity_id": np.repeat(panel.entity_names, n_t),
            "period_start": np.tile(features.periods[:n_t], n_e),
            "actual": panel.target.ravel(),
            "fitted": parts.fitted.mean(axis=0).ravel(),
            "baseline": parts.baseline.mean(axis=0).ravel(),
        }
    )
    mean_parts = parts.contributions.mean(axis=0)  # (E, T, C)
    for i, channel in enumerate(channels):
        contributions[channel] = mean_parts[..., i].ravel()
    return roi, contributions


@dataclass(frozen=True)
class PanelResponse:
    """The brand total's response: each entity's `MediaResponse`, summed (entities add up).

    In log space with a population column an entity's level is `u_e (exp(mu + m_e) - 1)`, here
    `exp(mu + m_e + log u_e) - 1`: the same up to a constant per period, which cancels in every
    curve, increment and gradient (totals themselves differ by that constant).
    """

    parts: tuple[MediaResponse, ...]

    @property
    def channels(self) -> tuple[str, ...]:
        return self.parts[0].channels

    @property
    def n_draws(self) -> int:
        return self.parts[0].n_draws

    def total(self, x: np.ndarray) -> np.ndarray:
        return sum(part.total(x) for part in self.parts)  # type: ignore[return-value]

    def total_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total, grad = self.parts[0].total_and_grad(x)
        for part in self.parts[1:]:
            t, g = part.total_and_grad(x)
            total, grad = total + t, grad + g
        return total, grad

    def channel_curve(self, index: int, multipliers: np.ndarray) -> np.ndarray:
        return sum(part.channel_curve(index, multipliers) for part in self.parts)  # type: ignore[return-value]

    def steady_state(self, periods: int) -> PanelResponse:
        return PanelResponse(tuple(part.steady_state(periods) for part in self.parts))


def panel_response(structure: EntityStructure, draws: Draws, features: FeatureSet) -> PanelResponse:
    """Each entity's response pieces over `features`' periods, checked against the structure's
    own `mean` and `channel_terms` on the first draws."""
    params = draws.values
    data = structure.model_data(features)
    panel = features.panel
    recipe = structure.recipe
    n_c = len(features.channel_names)
    ones = np.ones((1, n_c))
    k = params["half_saturation"] if recipe.family != "none" else ones
    slope = params["slope"] if recipe.learn_slope else ones * recipe.slope
    parts = []
    for e in range(panel.n_entities):
        own = {
            "media_lags": data["media_lags"][:, e : e + 1],
            "x_controls": data["x_controls"][e : e + 1],
            "fit_weight": data["fit_weight"],
        }
        _, average, spread = structure.standardized(params, own, np)
        coef = params["beta_entity"][:, e] / spread[:, 0]
        gamma = params["gamma"][:, e] if structure.controls_by_entity else params["gamma"]
        controls = np.einsum("tj,sj->st", own["x_controls"][0], gamma)
        base = params["intercept"][:, e, None] + controls - (coef * average[:, 0]).sum(-1)[:, None]
        unit = float(panel.population_factor[e])
        additive = structure.additive
        part = MediaResponse(
            channels=tuple(features.channel_names),
            family=recipe.family,
            carried=_carried(params["decay"], own["media_lags"][:, 0], recipe.max_lag),
            half_saturation=np.asarray(k, dtype=float),
            slope=np.asarray(slope, dtype=float),
            coef=coef,
            base=base,
            link=IDENTITY if additive else LOG1P,
            offset=0.0 if additive else float(panel.target_offset[e] + np.log(unit)),
            scale=unit * float(panel.target_mean[e]) if additive else 1.0,
            weight=np.ones(panel.target.shape[1]),
        )
        _check(structure, part, params, own, e)
        parts.append(part)
    return PanelResponse(tuple(parts))


def _check(
    structure: EntityStructure,
    part: MediaResponse,
    params: dict[str, np.ndarray],
    own: dict[str, np.ndarray],
    entity: int,
) -> None:
    n = min(CHECK_DRAWS, part.n_draws)
    subset = {name: value[:n] for name, value in params.items()}
    subset["intercept"] = subset["intercept"][:, entity : entity + 1]
    subset["beta_entity"] = subset["beta_entity"][:, entity : entity + 1]
    if structure.controls_by_entity:
        subset["gamma"] = subset["gamma"][:, entity : entity + 1]
    terms = structure.channel_terms(subset, own, np)[:, 0]
    mu = structure.mean(subset, own, np)[:, 0]
    h, _ = _saturate(
        part.family, part.kernel[:n], np.ones(len(part.channels)), part.slope[:n, None, :], False
    )
    rebuilt = part.coef[:n, None, :] * h
    tolerance = 1e-9 * (np.abs(mu).max() + np.abs(terms).max() + 1.0)
    if not (
        np.allclose(rebuilt, terms, rtol=1e-6, atol=tolerance)
        and np.allclose(part.base[:n] + rebuilt.sum(-1), mu, rtol=1e-6, atol=tolerance)
    ):
        raise ValueError(f"{structure.name}: the response of entity {entity} does not match")
