"""The entity panel (model.level=entity): per-entity arrays beside the brand FeatureSet.

The brand `FeatureSet` is built as always from the brand mart (brand artifacts unchanged); an
entity fit reads `FeatureSet.panel`, built here from the entity x period mart. Every fitted
constant (target offset and scale, media peaks, control z-scores) uses the training window only,
per entity, so an entity's level is its own intercept's business and the pooled channel effects
compare like with like (docs/model.md, "Entity level").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.data.columns import ColumnPlan
from mmm_runner.errors import ConfigError
from mmm_runner.features.transforms import Standardizer


@dataclass
class EntityPanel:
    """Arrays of shape (entity, period, ...) on the model's per-entity scales."""

    entity_names: list[str]
    target: np.ndarray  # (E, T) raw target, original units
    # (E,) population / its mean over entities (1 without dataset.population_col): the model
    # sees target / factor and media / factor, per capita in units of an average entity.
    population_factor: np.ndarray
    target_log_centered: np.ndarray  # (E, T) log1p(target / factor) - offset
    target_offset: np.ndarray  # (E,) mean of log1p(target / factor) over the training window
    target_mean: np.ndarray  # (E,) mean of target / factor over the training window (additive)
    media_scaled: np.ndarray  # (E, T, C) media / factor / peak, in [0, 1] over the training
    media_peak: np.ndarray  # (E, C) the divisor of the raw media (factor x peak)
    x_controls: np.ndarray  # (E, T, J) controls z-scored per entity; seasonality, trend shared
    spend: np.ndarray  # (E, T, C) spend of each channel's paired column (0 without one)
    n_fit: int

    @property
    def n_entities(self) -> int:
        return len(self.entity_names)

    def training(self) -> EntityPanel:
        n = self.n_fit
        return replace(
            self,
            target=self.target[:, :n],
            target_log_centered=self.target_log_centered[:, :n],
            media_scaled=self.media_scaled[:, :n],
            x_controls=self.x_controls[:, :n],
            spend=self.spend[:, :n],
        )

    def scale_dict(self) -> dict[str, object]:
        """What feature_scaler.json adds for an entity fit (per entity)."""
        return {
            name: {
                "population_factor": float(self.population_factor[e]),
                "target_log_offset": float(self.target_offset[e]),
                "target_mean": float(self.target_mean[e]),
                "media_peak": self.media_peak[e].tolist(),
            }
            for e, name in enumerate(self.entity_names)
        }


def _cube(frame: pd.DataFrame, columns: list[str], entities: list[str]) -> np.ndarray:
    """(E, T, len(columns)) from a long entity x period frame sorted by entity then period."""
    n_e = len(entities)
    values = frame[columns].to_numpy(float) if columns else np.empty((len(frame), 0))
    return values.reshape(n_e, len(frame) // n_e, len(columns))


def build_panel(
    panel: pd.DataFrame,
    target_col: str,
    drivers: list[str],
    controls: list[str],
    spend_for: dict[str, str | None],
    shared_controls: np.ndarray,
    n_fit: int,
    population_col: str | None = None,
) -> EntityPanel:
    """The per-entity arrays from the entity mart (one row per entity and period).

    `shared_controls` (T, K) are the brand features' seasonality and trend columns, the same for
    every entity. Media are scaled by each entity's own peak; with a population column they are
    per capita and scaled by one peak over entities (Meridian's scaling), so the shared
    half-saturation point means the same spend per head everywhere.
    """
    panel = panel.sort_values(["entity_id", "period_start"], ignore_index=True)
    entities = list(dict.fromkeys(panel["entity_id"].astype(str)))
    n_periods = panel["period_start"].nunique()
    counts = panel.groupby("entity_id").size()
    short = counts[counts != n_periods]
    if len(short):
        raise ConfigError(
            f"model.level=entity needs every entity in every period: entity {short.index[0]!r} "
            f"has {int(short.iloc[0])} of {n_periods} periods ({len(short)} such entities); "
            "fill the gaps or use model.level=brand"
        )
    target = _cube(panel, [target_col], entities)[..., 0]
    if population_col:
        population = _cube(panel, [population_col], entities)[:, :n_fit, 0].mean(axis=1)
        if not np.all(population > 0):
            raise ConfigError(f"dataset.population_col: {population_col!r} must be > 0")
        factor = population / population.mean()
    else:
        factor = np.ones(len(entities))
    per_head = target / factor[:, None]
    log_target = np.log1p(per_head)
    offset = log_target[:, :n_fit].mean(axis=1)

    media = _cube(panel, drivers, entities) / factor[:, None, None]
    if population_col:
        peak = np.broadcast_to(media[:, :n_fit].max(axis=(0, 1)), (len(entities), len(drivers)))
    else:
        peak = media[:, :n_fit].max(axis=1)
    safe = np.where(peak > 0, peak, 1.0)
    scaled = np.where(peak[:, None, :] > 0, media / safe[:, None, :], 0.0)

    raw_controls = _cube(panel, controls, entities)
    standardized = np.empty_like(raw_controls)
    for e in range(len(entities)):
        for j in range(len(controls)):
            scaler = Standardizer.fit(raw_controls[e, :n_fit, j])
            standardized[e, :, j] = scaler.transform(raw_controls[e, :, j])
    shared = np.broadcast_to(shared_controls, (len(entities), *shared_controls.shape))
    spend_cols = [spend_for.get(d) for d in drivers]
    spend = np.zeros_like(media)
    for i, col in enumerate(spend_cols):
        if col:
            spend[..., i] = _cube(panel, [col], entities)[..., 0]
    return EntityPanel(
        entity_names=entities,
        target=target,
        population_factor=factor,
        target_log_centered=log_target - offset[:, None],
        target_offset=offset,
        target_mean=per_head[:, :n_fit].mean(axis=1),
        media_scaled=scaled,
        media_peak=safe * factor[:, None],
        x_controls=np.concatenate([standardized, shared], axis=-1),
        spend=spend,
        n_fit=n_fit,
    )


def attach_panel(
    features: Any, frame: pd.DataFrame, plan: ColumnPlan, population_col: str | None
) -> None:
    """Set `features.panel` from the entity mart; seasonality and trend come from `features`."""
    shared = features.x_controls[:, len(plan.controls) :]
    features.panel = build_panel(
        frame,
        plan.target,
        plan.drivers,
        plan.controls,
        plan.spend_for,
        shared,
        features.n_fit,
        population_col,
    )
