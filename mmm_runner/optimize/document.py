"""What an allocation says: `budget_allocation.json`, its Markdown twin and the console table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.analysis.allocation import AllocationProblem, AllocationResult
from mmm_runner.analysis.intervals import summarize

METHOD = (
    "per posterior draw, R(plan) = the target over the plan's periods minus the same with the "
    "allocated channels at zero, through the full fitted model (channels interact through the "
    "link); a plan scales each channel's spend and activity by its multiplier in every period; "
    "SLSQP with analytic gradients maximises the objective over draws from the current plan"
)
OBJECTIVE_TEXT = {
    "mean": "E[R]: the expected incremental target",
    "mean_minus_sd": "E[R] - risk_aversion x sd[R]: expected target, penalised by uncertainty",
    "cvar": "CVaR: the mean of R over the worst alpha share of posterior draws",
}


@dataclass(frozen=True)
class PlanContext:
    """What the document says about the plan besides the numbers."""

    name: str
    run_dir: str
    structure: str
    fit_converged: bool | None
    window: dict[str, Any]
    settings: dict[str, Any]


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def allocation_document(
    context: PlanContext, problem: AllocationProblem, result: AllocationResult
) -> dict[str, Any]:
    """budget_allocation.json: per channel plan and bounds, expected target and uplift, HDIs."""
    channels = problem.response.channels
    mask = problem.allocatable
    spend = np.nan_to_num(problem.spend)
    optimal = spend * result.multipliers
    uplift = result.incremental_optimal - result.incremental_current
    current_mean = float(result.incremental_current.mean())
    entries: dict[str, Any] = {}
    for i, name in enumerate(channels):
        if not mask[i]:
            entries[name] = {"allocated": False, "note": "no spend: held as observed"}
            continue
        entries[name] = {
            "allocated": True,
            "current_spend": float(spend[i]),
            "optimal_spend": float(optimal[i]),
            "multiplier": float(result.multipliers[i]),
            "change": float(result.multipliers[i] - 1.0),
            "bounds": [float(problem.lower[i]), float(problem.upper[i])],
            "bound_binds": result.bound[i],
            "marginal_roas_current": _number(result.marginal_current[:, i].mean()),
            "marginal_roas_optimal": _number(result.marginal_optimal[:, i].mean()),
        }
    warnings = _warnings(context, problem, result)
    return {
        "name": context.name,
        "run_dir": context.run_dir,
        "structure": context.structure,
        "fit_converged": context.fit_converged,
        "settings": context.settings,
        "window": context.window,
        "method": METHOD,
        "interval": "94% HDI over posterior draws",
        "definitions": {
            "multiplier": "optimal spend / current spend (spend and activity, every period)",
            "marginal_roas": "d expected incremental target / d spend at the plan (derivative)",
            "uplift": "R(optimal) - R(current) per draw; relative: its mean / E[R(current)]",
        },
        "objective": {
            "kind": problem.objective.kind,
            "definition": OBJECTIVE_TEXT[problem.objective.kind],
            "risk_aversion": problem.objective.risk_aversion,
            "alpha": problem.objective.alpha,
            "current": result.objective_current,
            "optimal": result.objective_optimal,
        },
        "budget": {
            "current_total": float(spend[mask].sum()),
            "optimal_total": float(optimal[mask].sum()),
        },
        "channels": entries,
        "incremental_target": {
            "current": summarize(result.incremental_current),
            "optimal": summarize(result.incremental_optimal),
        },
        "uplift": {
            **summarize(uplift),
            "p_positive": float((uplift > 0).mean()),
            "relative": float(uplift.mean() / current_mean) if current_mean else None,
        },
        "optimizer": {
            "method": "SLSQP",
            "converged": result.converged,
            "message": result.message,
            "iterations": result.iterations,
            "evaluations": result.evaluations,
            "seconds": round(result.seconds, 4),
            "start": "the current plan scaled to the budget within the bounds",
        },
        "warnings": warnings,
    }


def _warnings(
    context: PlanContext, problem: AllocationProblem, result: AllocationResult
) -> list[str]:
    out = []
    if not result.converged:
        out.append(f"the optimizer did not converge ({result.message}): the plan may be improved")
    if context.fit_converged is False:
        out.append("the model fit did not converge (diagnostics.json): treat the plan with care")
    for i, name in enumerate(problem.response.channels):
        side = result.bound[i]
        if side in ("lower", "upper"):
            limit = problem.lower[i] if side == "lower" else problem.upper[i]
            want = "less" if side == "lower" else "more"
            out.append(f"{name} is at its {side} bound ({limit:g}x): the objective wants {want}")
    return out


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _interval(summary: dict[str, float]) -> str:
    return (
        f"{_money(summary['mean'])} [{_money(summary['hdi_lower'])}, "
        f"{_money(summary['hdi_upper'])}]"
    )


def allocation_table(doc: dict[str, Any]) -> list[str]:
    """Plain-text table for the console."""
    header = (
        f"{'channel':<22}{'current':>14}{'optimal':>14}{'x':>7}{'bound':>8}"
        f"{'mROAS now':>11}{'mROAS opt':>11}"
    )
    lines = [header]
    for name, entry in doc["channels"].items():
        if not entry["allocated"]:
            lines.append(f"{name:<22}  ({entry['note']})")
            continue
        now, opt = entry["marginal_roas_current"], entry["marginal_roas_optimal"]
        lines.append(
            f"{name:<22}{_money(entry['current_spend']):>14}{_money(entry['optimal_spend']):>14}"
            f"{entry['multiplier']:>7.3f}{entry['bound_binds'] or '-':>8}"
            f"{(now or 0):>11.3f}{(opt or 0):>11.3f}"
        )
    return lines


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """The expected target of both plans and the uplift, with intervals."""
    uplift, target = doc["uplift"], doc["incremental_target"]
    relative = f" ({uplift['relative']:+.2%})" if uplift["relative"] is not None else ""
    return [
        f"expected incremental target, current plan: {_interval(target['current'])}",
        f"expected incremental target, optimal plan: {_interval(target['optimal'])}",
        f"uplift: {_interval(uplift)}{relative}, P(uplift > 0) = {uplift['p_positive']:.2f}",
    ]


def allocation_markdown(doc: dict[str, Any]) -> str:
    """budget_allocation.md."""
    optimizer, objective, window = doc["optimizer"], doc["objective"], doc["window"]
    lines = [
        f"# Budget allocation `{doc['name']}`",
        "",
        f"Run `{doc['run_dir']}` (structure `{doc['structure']}`, fit converged: "
        f"{doc['fit_converged']}).",
        f"Objective: {objective['definition']}. Plan: {window['description']}",
        "",
        "| channel | current spend | optimal spend | multiplier | bounds | bound binds "
        "| mROAS now | mROAS at optimum |",
        "|---|---:|---:|---:|---|---|---:|---:|",
    ]
    for name, e in doc["channels"].items():
        if not e["allocated"]:
            lines.append(f"| {name} | - | - | - | - | - | - | - |  ({e['note']})")
            continue
        lines.append(
            f"| {name} | {_money(e['current_spend'])} | {_money(e['optimal_spend'])} | "
            f"{e['multiplier']:.3f} | [{e['bounds'][0]:g}, {e['bounds'][1]:g}] | "
            f"{e['bound_binds'] or '-'} | {e['marginal_roas_current'] or 0:.3f} | "
            f"{e['marginal_roas_optimal'] or 0:.3f} |"
        )
    budget = doc["budget"]
    lines += [
        f"| total | {_money(budget['current_total'])} | {_money(budget['optimal_total'])} "
        "| | | | | |",
        "",
        "Mean and 94% HDI over posterior draws:",
        "",
        *(f"- {line}" for line in summary_lines(doc)),
        "",
        f"Optimizer: {optimizer['method']}, converged: {optimizer['converged']} "
        f"({optimizer['message']}), {optimizer['iterations']} iterations, "
        f"{optimizer['seconds']:.2f} s.",
        "",
        f"Method: {doc['method']}.",
    ]
    if doc["warnings"]:
        lines += ["", "Warnings:", "", *(f"- {w}" for w in doc["warnings"])]
    return "\n".join(lines) + "\n"
