"""A finished run, read back through the store as the model it fitted (nothing is refitted).

The features are rebuilt from `canonical_data.parquet` with the run's own config (the same pure
`build_features` the pipeline ran, so the same numbers), the posterior is read from
`posterior.nc`, and the structure comes from the run's `model` config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from mmm_runner.analysis.curves import channel_spend
from mmm_runner.analysis.response import MediaResponse, media_response
from mmm_runner.config.schema import schema_node
from mmm_runner.data.columns import ColumnPlan
from mmm_runner.errors import MMMError
from mmm_runner.features.build import FeatureSet, build_features
from mmm_runner.features.entity import attach_panel
from mmm_runner.model import is_entity_level, structure_for
from mmm_runner.store import Artifact, RunRecord, load_run, read

READY = "OUTPUTS_READY"


class RunNotReadyError(MMMError):
    """The run directory holds no finished run (stage is not OUTPUTS_READY)."""


@dataclass(frozen=True)
class FittedRun:
    record: RunRecord
    cfg: DictConfig  # the run's config, typed by the run schema
    features: FeatureSet  # every period; `.training` is the window the model was fitted on
    response: MediaResponse  # over the training window, per draw (entity level: PanelResponse)
    spend: np.ndarray  # (C,) spend per channel over the training window (NaN: no spend column)

    @property
    def channels(self) -> list[str]:
        return self.features.channel_names


def load_fitted(run_dir: Path | str) -> FittedRun:
    """Read a finished run; RunNotReadyError (naming run_dir and the stage) if it is not one."""
    record = load_run(run_dir)
    if record.status.stage != READY:
        detail = f" ({record.status.error.message})" if record.status.error else ""
        raise RunNotReadyError(
            f"run_dir: {record.run_dir} is at stage {record.status.stage}{detail}, not {READY}: "
            "only a finished run can be optimized"
        )
    if record.config is None:
        raise RunNotReadyError(f"run_dir: {record.run_dir} has no config (.hydra/, run_spec.json)")
    cfg = OmegaConf.merge(schema_node(), record.config)
    assert isinstance(cfg, DictConfig)
    info = record.document(Artifact.COLUMN_INFO)
    canonical = record.canonical
    if info is None or canonical is None or record.posterior is None:
        raise RunNotReadyError(f"run_dir: {record.run_dir} is missing its data or posterior")
    spend_for = {p["driver"]: p["spend"] for p in info["pairs"]}
    features = build_features(
        canonical,
        info["target"],
        list(info["drivers"]),
        list(info["controls"]),
        cfg.features,
        info["grain"],
        holdout_periods=int(cfg.dataset.holdout_periods),
    )
    if is_entity_level(cfg.model):  # the entity panel as fitted (entity_data.parquet)
        panel = read(record.run_dir, Artifact.ENTITY_DATA)
        if panel is None:
            raise RunNotReadyError(f"run_dir: {record.run_dir} is missing its entity data")
        plan = ColumnPlan(
            info["target"],
            list(info["drivers"]),
            list(info["controls"]),
            spend_for,
            list(info.get("ignored", [])),
            info.get("population"),
        )
        attach_panel(features, panel, plan, cfg.dataset.population_col)
    structure = structure_for(cfg.model, cfg.features)
    training = features.training
    draws = structure.draws(record.posterior, cfg.model, training)
    return FittedRun(
        record=record,
        cfg=cfg,
        features=features,
        response=media_response(structure, draws, training, cfg.features),
        spend=channel_spend(canonical.iloc[: features.n_fit], spend_for, features.channel_names),
    )
