"""Turn a prior line of conf/model/*.yaml into a PyMC random variable."""

from __future__ import annotations

from typing import Any

from mmm_runner.errors import ConfigError

PRIOR_KEYS = ("intercept", "sigma_beta", "beta", "gamma", "sigma", "nu")
SCALE_FAMILIES = ("HalfNormal", "HalfStudentT")  # beta's family: its `sigma` is sigma_beta


def prior_spec(prior_cfg: Any) -> tuple[str, dict[str, float]]:
    return str(prior_cfg.dist), {str(k): float(v) for k, v in dict(prior_cfg.params).items()}


def make_prior(name: str, prior_cfg: Any, **kwargs: Any) -> Any:
    """`pm.<dist>(name, **params, **kwargs)`, with the config key named on any mistake."""
    import pymc as pm

    dist, params = prior_spec(prior_cfg)
    family = getattr(pm, dist, None)
    if not (isinstance(family, type) and issubclass(family, pm.Distribution)):
        raise ConfigError(f"model.{name}.dist: {dist!r} is not a PyMC distribution")
    try:
        return family(name, **params, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"model.{name}.params: {params} do not fit pm.{dist} ({exc})") from None


def check_model_config(model_cfg: Any) -> None:
    """Cheap structural checks that need no PyMC import (fail before any work)."""
    beta_dist, beta_params = prior_spec(model_cfg.beta)
    if beta_dist not in SCALE_FAMILIES or "sigma" in beta_params:
        raise ConfigError(
            f"model.beta: dist must be one of {SCALE_FAMILIES} without a sigma param (its scale is "
            f"sigma_beta, the shrinkage shared by channels); got {beta_dist} {beta_params}"
        )
    for key in PRIOR_KEYS:
        dist, params = prior_spec(getattr(model_cfg, key))
        if not dist or not dist[0].isupper():
            raise ConfigError(f"model.{key}.dist: {dist!r} is not a distribution name")
        for pname, value in params.items():
            if pname in ("sigma", "lam", "beta", "nu") and value <= 0:
                raise ConfigError(f"model.{key}.params.{pname}: must be > 0, got {value}")
