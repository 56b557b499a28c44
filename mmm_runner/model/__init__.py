"""Model structures: each states its parameters and equations once (see structure.py).

`structure_for(model_cfg)` picks the structure named by `model.structure`. Importing this
package is cheap (no PyMC, no numba): config errors must fail fast.
"""

from __future__ import annotations

from collections.abc import Callable

from mmm_runner.config.schema import FeaturesConfig, ModelConfig, value_of
from mmm_runner.data.columns import ColumnPlan
from mmm_runner.errors import ConfigError
from mmm_runner.features.build import control_feature_count
from mmm_runner.model.entity import EntityStructure
from mmm_runner.model.fixed import FIXED
from mmm_runner.model.learned import AdditiveStructure, LearnedStructure, MediaRecipe
from mmm_runner.model.structure import ModelStructure

STRUCTURES = ("fixed", "learned", "additive")


def is_entity_level(model_cfg: ModelConfig) -> bool:
    """model.level=entity: fit the entity panel (model/entity.py), not the brand sum."""
    return value_of(getattr(model_cfg, "level", "brand")) == "entity"


def structure_for(model_cfg: ModelConfig, features_cfg: FeaturesConfig) -> ModelStructure:
    """The structure `model.structure` names, set up with the run's media recipe."""
    name = value_of(model_cfg.structure)
    if is_entity_level(model_cfg):
        if name not in ("learned", "additive"):
            raise ConfigError(
                f"model.level=entity needs model.structure learned or additive, not {name!r} "
                "(model=default or model=additive)"
            )
        recipe = MediaRecipe.from_config(features_cfg, model_cfg)
        # `auto` is resolved per channel from the data before sampling (`entity_centred`)
        form = value_of(getattr(model_cfg, "entity_parametrization", "centered"))
        per_channel = dict(getattr(model_cfg, "entity_centred", None) or {})
        centred: bool | tuple[bool, ...] = form != "non_centered"
        if form == "auto" and per_channel:
            centred = tuple(bool(v) for v in per_channel.values())
        by_entity = bool(model_cfg.controls_by_entity)
        return EntityStructure(recipe, name == "additive", by_entity, centred)
    if name == "fixed":
        return FIXED
    if name == "learned":
        return LearnedStructure(MediaRecipe.from_config(features_cfg, model_cfg))
    if name == "additive":
        return AdditiveStructure(MediaRecipe.from_config(features_cfg, model_cfg))
    raise ConfigError(f"model.structure: {name!r} is not one of {STRUCTURES}")


def periods_to_fit(
    model_cfg: ModelConfig, features_cfg: FeaturesConfig
) -> Callable[[ColumnPlan], int]:
    """The data layer's minimum: two periods per scalar parameter of the structure."""
    structure = structure_for(model_cfg, features_cfg)

    def rule(plan: ColumnPlan) -> int:
        sizes = {
            "channel": len(plan.drivers),
            "control": control_feature_count(len(plan.controls), features_cfg),
        }
        return 2 * structure.parameter_count(model_cfg, sizes)

    return rule
