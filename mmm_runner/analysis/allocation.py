"""Allocate a budget across channels over posterior draws (docs/model.md, "Budget allocation").

The decision is one spend multiplier per channel (its spend and activity scaled in every
period). For a plan x and draw s, R_s(x) is the incremental target over the window versus the
allocated channels at zero, computed through the full model (`MediaResponse`), so channels
interact through the log link. SLSQP maximises a risk-aware summary of R over draws (the mean,
mean minus a multiple of the sd, or the CVaR of the worst draws) with analytic gradients, under
per-channel bounds and the budget, starting from the current plan (projected onto the budget).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from mmm_runner.analysis.response import MediaResponse
from mmm_runner.config.optimizer import ObjectiveKind

BIND_TOLERANCE = 1e-6  # a multiplier this close to a bound is at it
OBJECTIVES = tuple(kind.value for kind in ObjectiveKind)  # mean | mean_minus_sd | cvar


@dataclass(frozen=True)
class Objective:
    """A summary of R over draws, with its gradient from R's per-draw gradients."""

    kind: str = "mean"  # mean | mean_minus_sd | cvar
    risk_aversion: float = 1.0
    alpha: float = 0.1

    def __post_init__(self) -> None:
        if self.kind not in OBJECTIVES:
            raise ValueError(f"objective {self.kind!r} is not one of {OBJECTIVES}")

    def value_and_grad(self, r: np.ndarray, dr: np.ndarray) -> tuple[float, np.ndarray]:
        if self.kind == "cvar":  # a subgradient: the worst draws' mean gradient
            k = max(1, math.ceil(self.alpha * len(r)))
            worst = np.argpartition(r, k - 1)[:k] if k < len(r) else np.arange(len(r))
            return float(r[worst].mean()), dr[worst].mean(axis=0)
        mean, grad = float(r.mean()), dr.mean(axis=0)
        if self.kind == "mean":
            return mean, grad
        centred = r - mean
        sd = float(np.sqrt(np.mean(centred**2)))
        d_sd = centred @ dr / (len(r) * sd) if sd > 0 else np.zeros_like(grad)
        return mean - self.risk_aversion * sd, grad - self.risk_aversion * d_sd

    def value(self, r: np.ndarray) -> float:
        return self.value_and_grad(r, np.zeros((len(r), 1)))[0]


@dataclass(frozen=True)
class AllocationProblem:
    """Spend per channel over the plan's periods (NaN or 0: not allocatable, held as observed),
    multiplier bounds (C,), the total budget of the allocatable channels, the objective."""

    response: MediaResponse
    spend: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    budget: float
    objective: Objective

    @property
    def allocatable(self) -> np.ndarray:
        return np.isfinite(self.spend) & (self.spend > 0)

    def feasible_range(self) -> tuple[float, float]:
        """The least and most the bounds let the allocatable channels spend."""
        mask, spend = self.allocatable, np.nan_to_num(self.spend)
        return float(spend[mask] @ self.lower[mask]), float(spend[mask] @ self.upper[mask])


@dataclass(frozen=True)
class AllocationResult:
    multipliers: np.ndarray  # (C,) optimal; 1 for channels not allocated
    start: np.ndarray  # (C,) where the optimizer started (the current plan on the budget)
    bound: list[str | None]  # per channel: lower | upper | fixed | None
    incremental_current: np.ndarray  # (S,) R at the current plan (x = 1)
    incremental_optimal: np.ndarray  # (S,) R at the optimal plan
    objective_current: float
    objective_optimal: float
    marginal_current: np.ndarray  # (S, C) d target / d spend at the current plan
    marginal_optimal: np.ndarray  # (S, C) the same at the optimal plan
    converged: bool
    message: str
    iterations: int
    evaluations: int
    seconds: float


def project_to_budget(problem: AllocationProblem) -> np.ndarray:
    """The current plan moved onto the budget: one common multiplier, clipped to each channel's
    bounds (bisection on the common multiplier). Equals the current plan when it is feasible."""
    mask, spend = problem.allocatable, np.nan_to_num(problem.spend)
    lower, upper = problem.lower[mask], problem.upper[mask]

    def spent(common: float) -> float:
        return float(spend[mask] @ np.clip(common, lower, upper))

    low, high = float(lower.min(initial=0.0)), float(upper.max(initial=1.0))
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if spent(middle) < problem.budget else (low, middle)
    x = np.ones(len(spend))
    x[mask] = np.clip(0.5 * (low + high), lower, upper)
    return x


def solve(problem: AllocationProblem, max_iterations: int = 500) -> AllocationResult:
    """Maximise the objective; raises ValueError when the bounds cannot meet the budget."""
    started = time.perf_counter()
    response, objective = problem.response, problem.objective
    least, most = problem.feasible_range()
    slack = 1e-9 * max(abs(problem.budget), 1.0)
    if not least - slack <= problem.budget <= most + slack:
        raise ValueError(f"bounds allow spend in [{least}, {most}], not {problem.budget}")
    mask = problem.allocatable
    spend = np.nan_to_num(problem.spend)
    free = mask & (problem.upper > problem.lower)
    zero = np.where(mask, 0.0, 1.0)
    floor = response.total(zero)  # (S,) the allocatable channels switched off
    norm = max(float(spend[mask].sum()), 1e-12)  # objective in target per unit of spend

    def incremental(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total, grad = response.total_and_grad(x)
        return total - floor, grad

    start = project_to_budget(problem)
    counter = {"evaluations": 0}

    def full(z: np.ndarray) -> np.ndarray:
        x = start.copy()
        x[free] = z
        return x

    def negative(z: np.ndarray) -> tuple[float, np.ndarray]:
        counter["evaluations"] += 1
        value, grad = objective.value_and_grad(*incremental(full(z)))
        return -value / norm, -grad[free] / norm

    fixed_spend = float(spend[mask & ~free] @ start[mask & ~free])
    constraint = {
        "type": "eq",
        "fun": lambda z: (spend[free] @ z + fixed_spend - problem.budget) / norm,
        "jac": lambda z: spend[free] / norm,
    }
    x_best, converged, message, iterations = start, True, "no free channel: nothing to optimize", 0
    if free.any():
        found = minimize(
            negative, start[free], jac=True, method="SLSQP",
            bounds=list(zip(problem.lower[free], problem.upper[free], strict=True)),
            constraints=[constraint], options={"maxiter": max_iterations, "ftol": 1e-12},
        )  # fmt: skip
        candidate = full(np.clip(found.x, problem.lower[free], problem.upper[free]))
        off_budget = abs(spend[mask] @ candidate[mask] - problem.budget) > 1e-6 * norm
        better = objective.value(incremental(candidate)[0]) >= objective.value(
            incremental(start)[0]
        )
        if not off_budget and better:
            x_best = candidate
        converged = bool(found.success) and not off_budget
        message, iterations = str(found.message), int(found.nit)

    current = np.ones(len(spend))
    r_now, g_now = incremental(current)
    r_best, g_best = incremental(x_best)
    per_spend = np.where(mask, spend, np.nan)
    return AllocationResult(
        multipliers=x_best,
        start=start,
        bound=_binding(x_best, problem, free),
        incremental_current=r_now,
        incremental_optimal=r_best,
        objective_current=objective.value(r_now),
        objective_optimal=objective.value(r_best),
        marginal_current=g_now / per_spend,
        marginal_optimal=g_best / per_spend,
        converged=converged,
        message=message,
        iterations=iterations,
        evaluations=counter["evaluations"],
        seconds=time.perf_counter() - started,
    )


def _binding(x: np.ndarray, problem: AllocationProblem, free: np.ndarray) -> list[str | None]:
    out: list[str | None] = []
    for i, allocatable in enumerate(problem.allocatable):
        if not allocatable:
            out.append(None)
        elif not free[i]:
            out.append("fixed")
        elif x[i] - problem.lower[i] <= BIND_TOLERANCE:
            out.append("lower")
        elif problem.upper[i] - x[i] <= BIND_TOLERANCE:
            out.append("upper")
        else:
            out.append(None)
    return out
