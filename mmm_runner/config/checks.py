"""Value checks the type schema cannot express; run before any work, naming the key."""

from __future__ import annotations

from mmm_runner.config.schema import RunConfig
from mmm_runner.errors import ConfigError


def check_config(cfg: RunConfig) -> None:
    """Raise ConfigError for the first out-of-range setting (priors: the structure checks them)."""
    sampler, features = cfg.sampler, cfg.features
    rules = [
        ("dataset.holdout_periods", cfg.dataset.holdout_periods >= 0, "must be >= 0"),
        ("sampler.draws", sampler.draws >= 1, "must be >= 1"),
        ("sampler.tune", sampler.tune >= 0, "must be >= 0"),
        ("sampler.chains", sampler.chains >= 1, "must be >= 1"),
        ("sampler.target_accept", 0 < sampler.target_accept < 1, "must be in (0, 1)"),
        ("features.adstock.decay_default", 0 <= features.adstock.decay_default < 1, "in [0, 1)"),
        ("features.adstock.max_lag", features.adstock.max_lag >= 0, "must be >= 0"),
        ("features.saturation.K", features.saturation.K > 0, "must be > 0"),
        ("features.saturation.S", features.saturation.S > 0, "must be > 0"),
        ("features.seasonality.K", features.seasonality.K >= 0, "must be >= 0"),
    ]
    rules += [
        (f"features.adstock.per_channel.{name}", 0 <= float(decay) < 1, "must be in [0, 1)")
        for name, decay in dict(features.adstock.per_channel).items()
    ]
    for key, ok, rule in rules:
        if not ok:
            raise ConfigError(f"{key}: {rule}")
