"""Value checks the type schema cannot express; run before any work, naming the key."""

from __future__ import annotations

from mmm_runner.config.calibration import check_calibration, is_configured
from mmm_runner.config.schema import RunConfig, value_of
from mmm_runner.errors import ConfigError


def check_config(cfg: RunConfig) -> None:
    """Raise ConfigError for the first out-of-range setting (priors: the structure checks them)."""
    sampler, features = cfg.sampler, cfg.features
    rules = [
        ("dataset.holdout_periods", cfg.dataset.holdout_periods >= 0, "must be >= 0"),
        ("sampler.draws", sampler.draws >= 1, "must be >= 1"),
        (
            "sampler.entity_draws",
            sampler.entity_draws is None or sampler.entity_draws >= 1,
            "must be >= 1 or null",
        ),
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
    drivers = [str(d) for d in cfg.dataset.drivers]
    calibration = getattr(cfg, "calibration", None)
    check_calibration(calibration, drivers)
    roas_prior = dict(getattr(cfg.model, "roas_prior", None) or {})
    if is_configured(calibration) or roas_prior:
        what = "calibration" if is_configured(calibration) else "model.roas_prior"
        structure = value_of(cfg.model.structure)
        level = value_of(getattr(cfg.model, "level", "brand"))
        if structure not in ("learned", "additive") or level != "brand":
            raise ConfigError(
                f"{what}: needs model=default or model=additive at model.level=brand (a "
                f"learned media block to take the counterfactual through); got structure "
                f"{structure!r}, level {level!r}"
            )
    for channel, prior in roas_prior.items():
        keys = set(prior.keys()) if hasattr(prior, "keys") else {"dist", "params"}
        if "dist" not in keys or keys - {"dist", "params"}:
            raise ConfigError(
                f"model.roas_prior.{channel}: must be {{dist, params}} (a PyMC family and its "
                f"parameters), got keys {sorted(keys)}"
            )
        if drivers and str(channel) not in drivers:
            raise ConfigError(
                f"model.roas_prior.{channel}: unknown channel; channels: {', '.join(drivers)}"
            )
