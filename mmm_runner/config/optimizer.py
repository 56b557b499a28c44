"""The typed schema of the budget optimizer (`conf/optimizer/`, `python -m mmm_runner.optimize`).

Hydra validates `conf/optimize.yaml` against `OptimizeAppConfig`, so an unknown key or a wrong
type fails before a run is read. `check_optimizer` adds the value checks; the checks that need
the run (channel names, whether the bounds can meet the budget) are in `mmm_runner.optimize`.
The objectives and the `horizon` assumptions: docs/model.md, "Budget allocation".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mmm_runner.errors import ConfigError

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ObjectiveKind(StrEnum):
    """What the allocation maximises over posterior draws of the incremental target R."""

    mean = "mean"  # E[R]
    mean_minus_sd = "mean_minus_sd"  # E[R] - risk_aversion * sd[R]
    cvar = "cvar"  # mean of the worst `alpha` share of draws of R


@dataclass
class OptimizerConfig:
    """One allocation: budget, spend-multiplier bounds per channel, objective."""

    budget: float | None = None  # total spend to allocate; null: the historical total
    budget_change: float = 0.0  # relative change of the budget: 0.1 = 10% more
    bounds: list[float] = field(default_factory=lambda: [0.5, 2.0])  # multipliers of spend
    channel_bounds: dict[str, list[float]] = field(default_factory=dict)  # per channel override
    objective: ObjectiveKind = ObjectiveKind.mean
    risk_aversion: float = 1.0  # mean_minus_sd
    alpha: float = 0.1  # cvar: the share of worst draws averaged
    horizon: int | None = None  # null: the historical window; N: N periods at the mean pattern


@dataclass
class OptimizeAppConfig:
    """Root of `python -m mmm_runner.optimize`: which run, the output's name, the settings."""

    run_dir: str = MISSING
    name: str | None = None  # folder under <run_dir>/optimizations/; null: from the settings
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)


def optimize_schema_node() -> DictConfig:
    """The schema Hydra checks `conf/optimize.yaml` against; per-channel bounds stay open."""
    node = OmegaConf.structured(OptimizeAppConfig)
    OmegaConf.set_struct(node.optimizer.channel_bounds, False)
    return node


def optimizer_config(values: Mapping[str, Any] | None = None) -> DictConfig:
    """Settings from plain values (e.g. a REST request body) on the schema's defaults, typed and
    checked as the CLI's are: an unknown key, a wrong type or a bad value is a ConfigError
    naming `optimizer.<key>`."""
    values = dict(values or {})
    if isinstance(values.get("channel_bounds"), Mapping):  # OmegaConf rejects int in list[float]
        values["channel_bounds"] = {
            name: [float(v) if isinstance(v, int) else v for v in pair]
            if isinstance(pair, list | tuple) else pair
            for name, pair in values["channel_bounds"].items()
        }  # fmt: skip
    try:
        cfg = OmegaConf.merge(optimize_schema_node().optimizer, values)
    except OmegaConfBaseException as exc:
        reason = str(exc.msg).splitlines()[0] if exc.msg else type(exc).__name__
        raise ConfigError(f"{exc.full_key or 'optimizer'}: {reason}") from exc
    assert isinstance(cfg, DictConfig)
    check_optimizer(cfg)
    return cfg


def _bounds_rule(pair: list[float]) -> str | None:
    values = list(pair)
    if len(values) != 2:
        return f"must be [lower, upper], got {values}"
    lower, upper = (float(v) for v in values)
    if not 0 <= lower <= upper:
        return f"needs 0 <= lower <= upper (spend multipliers), got {values}"
    return None


def check_optimizer(cfg: OptimizerConfig | DictConfig, name: str | None = None) -> None:
    """Raise ConfigError naming the first out-of-range setting (before any run is read)."""
    rules = [
        ("optimizer.budget", cfg.budget is None or cfg.budget > 0, "must be > 0 (or null)"),
        ("optimizer.budget_change", cfg.budget_change > -1, "must be > -1 (a budget > 0)"),
        ("optimizer.risk_aversion", cfg.risk_aversion >= 0, "must be >= 0"),
        ("optimizer.alpha", 0 < cfg.alpha <= 1, "must be in (0, 1]"),
        ("optimizer.horizon", cfg.horizon is None or cfg.horizon >= 1, "must be >= 1 (or null)"),
        ("name", name is None or NAME_PATTERN.fullmatch(name) is not None,
         "must match [A-Za-z0-9_-]{1,64}"),
    ]  # fmt: skip
    for key, ok, rule in rules:
        if not ok:
            raise ConfigError(f"{key}: {rule}")
    bounds = {"optimizer.bounds": cfg.bounds}
    bounds |= {f"optimizer.channel_bounds.{c}": b for c, b in dict(cfg.channel_bounds).items()}
    for key, pair in bounds.items():
        problem = _bounds_rule(pair)
        if problem:
            raise ConfigError(f"{key}: {problem}")
