"""model.level=entity outputs: per-entity ROAS and contributions, and the brand-total response.

Brand artifacts are computed as for a brand fit, from the sums over entities per draw of one
pass over the panel (`entity_pass.py`). Here: `entity_roi_metrics.parquet` (per entity and
channel: spend, contribution and ROAS with 94% HDIs), `entity_contributions.parquet` (per entity
and period: actual, fitted, baseline, channels; posterior means) and `PanelResponse`, the brand
total's response to spend as the sum of each entity's `MediaResponse` (docs/model.md, "Entity
level").
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmm_runner.analysis.entity_pass import EntityParts, panel_pass
from mmm_runner.analysis.intervals import HDI_PROB, hdi
from mmm_runner.analysis.response import MediaResponse
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.entity import EntityStructure
from mmm_runner.model.parameters import Draws


def entity_tables(
    structure: EntityStructure,
    draws: Draws,
    features: FeatureSet,
    parts: EntityParts | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(entity ROI table, entity contributions table) over `features`' periods.

    `parts`: `entity_pass.panel_pass(structure, draws, features).entities` when the caller
    already has it."""
    panel = features.panel
    if parts is None:
        parts = panel_pass(structure, draws, features).entities
        assert parts is not None
    channels = features.channel_names
    totals = parts.totals  # (S, E, C)
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
            "fitted": parts.fitted.ravel(),
            "baseline": parts.baseline.ravel(),
        }
    )
    for i, channel in enumerate(channels):
        contributions[channel] = parts.contributions[..., i].ravel()
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
        """The entities' curves, summed in entity order; computed a few at a time in threads
        (the compiled curve loop releases the GIL: `curve_kernel`)."""
        workers = min(len(self.parts), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            curves = pool.map(lambda part: part.channel_curve(index, multipliers), self.parts)
            return sum(curves)  # type: ignore[return-value]

    def steady_state(self, periods: int) -> PanelResponse:
        return PanelResponse(tuple(part.steady_state(periods) for part in self.parts))


def panel_response(structure: EntityStructure, draws: Draws, features: FeatureSet) -> PanelResponse:
    """Each entity's response pieces over `features`' periods (pass the training window),
    checked against the structure's own `mean` and `channel_terms` on the first draws."""
    return PanelResponse(panel_pass(structure, draws, features, decompose_parts=False).responses)
