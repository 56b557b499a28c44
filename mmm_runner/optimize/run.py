"""Allocate a budget on a finished run: read it, optimize, write `optimizations/<name>/`.

`optimize_run(run_dir, cfg, name)` is the whole job, for the CLI and the REST layer alike: every
setting is checked (naming its key) before anything is written, and the JSON and Markdown are
written, atomically, only after the optimization has finished.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from mmm_runner.analysis.allocation import AllocationProblem, Objective, solve
from mmm_runner.config.optimizer import OptimizerConfig, check_optimizer
from mmm_runner.config.schema import to_plain, value_of
from mmm_runner.errors import ConfigError
from mmm_runner.optimize.document import PlanContext, allocation_document, allocation_markdown
from mmm_runner.optimize.loaded import FittedRun, load_fitted
from mmm_runner.store.layout import OptimizationArtifact, optimization_dir, write

HISTORICAL = (
    "the historical training window: each channel keeps its observed week-by-week pattern, "
    "scaled by its multiplier; controls, seasonality and trend as observed"
)
STEADY_STATE = (
    "{n} future periods at the training window's average: each channel spends its average "
    "per-period spend (times its multiplier) in every period, its carry-over at steady state; "
    "the baseline (controls, seasonality, trend) at its average level over the window; no "
    "ramp-up at the start and no carry-over past the end are counted"
)


@dataclass(frozen=True)
class Plan:
    """The run's response and spend over the periods the plan covers."""

    problem: AllocationProblem
    window: dict[str, Any]


def default_name(cfg: OptimizerConfig | DictConfig) -> str:
    """`<objective>-<hash of the settings>`: the same settings land in the same folder."""
    plain = to_plain(cfg)
    digest = hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:8]
    return f"{plain['objective']}-{digest}"


def _bounds(
    cfg: OptimizerConfig | DictConfig, channels: list[str], allocatable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    lower = np.full(len(channels), float(cfg.bounds[0]))
    upper = np.full(len(channels), float(cfg.bounds[1]))
    for name, pair in dict(cfg.channel_bounds).items():
        key = f"optimizer.channel_bounds.{name}"
        if name not in channels:
            raise ConfigError(f"{key}: {name!r} is not a channel of this run ({channels})")
        i = channels.index(name)
        if not allocatable[i]:
            raise ConfigError(f"{key}: {name} has no spend to allocate (held as observed)")
        lower[i], upper[i] = float(pair[0]), float(pair[1])
    lower[~allocatable] = upper[~allocatable] = 1.0
    return lower, upper


def build_plan(fitted: FittedRun, cfg: OptimizerConfig | DictConfig) -> Plan:
    """The allocation problem the settings describe; ConfigError naming the key if it has none."""
    check_optimizer(cfg)
    features, spend = fitted.features, fitted.spend
    allocatable = np.isfinite(spend) & (spend > 0)
    if not allocatable.any():
        raise ConfigError("run_dir: no channel of this run has spend to allocate")
    periods = features.periods[: features.n_fit]
    window: dict[str, Any] = {
        "periods": int(features.n_fit),
        "period_start": str(periods[0])[:10],
        "period_end": str(periods[-1])[:10],
    }
    response = fitted.response
    if cfg.horizon is None:
        window |= {"kind": "historical", "description": HISTORICAL}
    else:
        horizon = int(cfg.horizon)
        response = response.steady_state(horizon)
        spend = spend / features.n_fit * horizon
        window |= {"kind": "horizon", "horizon": horizon,
                   "description": STEADY_STATE.format(n=horizon)}  # fmt: skip
    lower, upper = _bounds(cfg, fitted.channels, allocatable)
    base = float(spend[allocatable].sum()) if cfg.budget is None else float(cfg.budget)
    budget = base * (1.0 + float(cfg.budget_change))
    objective = Objective(value_of(cfg.objective), float(cfg.risk_aversion), float(cfg.alpha))
    problem = AllocationProblem(response, spend, lower, upper, budget, objective)
    least, most = problem.feasible_range()
    if not least * (1 - 1e-9) <= budget <= most * (1 + 1e-9):
        raise ConfigError(
            f"optimizer.bounds: the spend multiplier bounds allow a total of {least:,.2f} to "
            f"{most:,.2f}, but the budget is {budget:,.2f} (optimizer.budget="
            f"{'null' if cfg.budget is None else cfg.budget}, "
            f"optimizer.budget_change={cfg.budget_change}); widen optimizer.bounds or "
            "optimizer.channel_bounds, or change the budget"
        )
    return Plan(problem, window)


def optimize_run(
    run_dir: Path | str, cfg: OptimizerConfig | DictConfig, name: str | None = None
) -> dict[str, Any]:
    """Optimize the budget of the finished run in `run_dir` and write
    `optimizations/<name>/budget_allocation.{json,md}`; returns the JSON document.

    Errors (nothing written): ConfigError naming the key (bad setting, unknown channel, bounds
    that cannot meet the budget), RunNotReadyError (not OUTPUTS_READY), NotARunDirectory.
    """
    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.structured(cfg)
    check_optimizer(cfg, name)
    name = name or default_name(cfg)
    fitted = load_fitted(run_dir)
    plan = build_plan(fitted, cfg)
    result = solve(plan.problem)
    record = fitted.record
    context = PlanContext(
        name=name,
        run_dir=str(record.run_dir),
        structure=str(value_of(fitted.cfg.model.structure)),
        fit_converged=record.converged,
        window=plan.window,
        settings=to_plain(cfg),
    )
    doc = allocation_document(context, plan.problem, result)
    markdown = allocation_markdown(doc)
    folder = optimization_dir(record.run_dir, name)
    write(folder, OptimizationArtifact.ALLOCATION_JSON, doc)
    write(folder, OptimizationArtifact.ALLOCATION_MD, markdown)
    return doc
