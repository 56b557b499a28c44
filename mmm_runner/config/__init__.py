"""Configuration schema (plain dataclasses, no Hydra import)."""

from mmm_runner.config.schema import (
    AdstockConfig,
    DatasetConfig,
    FeaturesConfig,
    Grain,
    ModelConfig,
    PriorConfig,
    RunConfig,
    SamplerConfig,
    SaturationConfig,
    SeasonalityConfig,
    TrendConfig,
)

__all__ = [
    "AdstockConfig",
    "DatasetConfig",
    "FeaturesConfig",
    "Grain",
    "ModelConfig",
    "PriorConfig",
    "RunConfig",
    "SamplerConfig",
    "SaturationConfig",
    "SeasonalityConfig",
    "TrendConfig",
]
