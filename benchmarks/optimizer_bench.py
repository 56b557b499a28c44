"""Budget optimizer: does a plan found on a fitted model hold under the truth, and is it fast?

    python benchmarks/optimizer_bench.py            # every case in CASES, then the timing
    python benchmarks/optimizer_bench.py --quick    # two cases, then the timing

Captured uplift (issue "Response curves, marginal ROAS and a budget optimizer", acceptance 1):
each case is simulated with known truth (`mmm_runner.synthetic`), fitted blind with defaults
(`sampler=fast`), and optimized with `python -m mmm_runner.optimize`'s own function
(`optimize_run`) under each of SETTINGS (the historical budget with bounds [0.5, 2]; 20% more
with [0.7, 1.5]). The plan is then valued under the *true* parameters and compared with the
true optimum (the optimizer run on the true parameters, same budget and bounds): captured = true
uplift of the fitted plan / true uplift of the true optimum. Bar: >= 0.90 on every plan.

Timing (acceptance 6): the optimizer alone on 8 channels x 1000 posterior draws (an 8-channel
case fitted, its draws thinned to 1000). Bar: < 2 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recovery_study import compose  # noqa: E402
from mmm_runner.synthetic import CaseSpec, simulate_case, true_response  # noqa: E402

CASES: list[tuple[CaseSpec, str]] = [
    (CaseSpec("learned", 3, "WEEK", 3, seed=1), "default"),
    (CaseSpec("learned", 4, "WEEK", 3, placebo=True, seed=5), "default"),
    (CaseSpec("learned", 6, "WEEK", 3, saturation="logistic", seed=6), "default"),
    (CaseSpec("additive", 3, "WEEK", 3, seed=11), "additive"),
    (CaseSpec("additive", 4, "WEEK", 4, placebo=True, seed=12), "additive"),
    (CaseSpec("additive", 5, "WEEK", 2, seed=17), "additive"),
]
QUICK = [0, 3]
TIMING_CASE = (CaseSpec("learned", 8, "WEEK", 4, seed=4), "default")
SAMPLER = ["sampler=fast"]
# Budget and bounds of each plan (optimizer settings; the true optimum uses the same).
SETTINGS: dict[str, dict] = {
    "same budget, [0.5, 2]": {},
    "+20%, [0.7, 1.5]": {"budget_change": 0.2, "bounds": [0.7, 1.5]},
}


def fit(spec: CaseSpec, model: str, workdir: Path, extra: list[str]) -> tuple[Path, dict]:
    """Simulate and fit blind; the run directory and the truth."""
    from mmm_runner.pipeline import run_pipeline

    panel, truth = simulate_case(spec)
    csv = workdir / f"{spec.name}.csv"
    panel.to_csv(csv, index=False)
    overrides = [
        f"dataset.path={csv}", f"dataset.name={spec.name}", f"dataset.grain={spec.grain}",
        "dataset.drivers=[]", "dataset.controls=[]", f"model={model}", *extra,
    ]  # fmt: skip
    run_dir = workdir / spec.name
    run_pipeline(compose(overrides), run_dir, echo=lambda _: None)
    return run_dir, truth


def captured_uplift(spec: CaseSpec, truth: dict, run_dir: Path, settings: Any) -> dict[str, Any]:
    """The fitted plan's uplift under the truth over the true optimum's (same budget, bounds)."""
    from mmm_runner.analysis.allocation import solve
    from mmm_runner.optimize.loaded import load_fitted
    from mmm_runner.optimize.run import build_plan, optimize_run

    doc = optimize_run(run_dir, settings, name="bench")  # writes optimizations/bench/
    fitted = load_fitted(run_dir)
    x_fit = np.array([doc["channels"][c].get("multiplier", 1.0) for c in fitted.channels])
    plan = build_plan(fitted, settings)
    truth_response = true_response(spec, truth, fitted.features.training)
    best = solve(replace(plan.problem, response=truth_response))
    now = float(truth_response.total(np.ones(len(x_fit)))[0])
    fit_uplift = float(truth_response.total(x_fit)[0]) - now
    best_uplift = float(best.incremental_optimal[0] - best.incremental_current[0])
    return {
        "case": spec.name,
        "fit_converged": doc["fit_converged"],
        "true_uplift_of_true_optimum": best_uplift,
        "true_uplift_of_fitted_plan": fit_uplift,
        "relative_true_optimum": best_uplift / now,
        "captured": fit_uplift / best_uplift if best_uplift > 0 else float("nan"),
        "fitted_multipliers": x_fit.round(3).tolist(),
        "true_multipliers": best.multipliers.round(3).tolist(),
    }


def timing(workdir: Path, repeats: int = 5) -> dict[str, Any]:
    """The optimizer alone on 8 channels x 1000 draws."""
    from mmm_runner.analysis.allocation import solve
    from mmm_runner.config.optimizer import OptimizerConfig
    from mmm_runner.optimize.loaded import load_fitted
    from mmm_runner.optimize.run import build_plan

    spec, model = TIMING_CASE
    run_dir, _ = fit(spec, model, workdir, SAMPLER)
    fitted = load_fitted(run_dir)
    r = fitted.response
    keep = slice(0, 1000)
    thinned = replace(r, coef=r.coef[keep], base=r.base[keep], carried=r.carried[keep],
                      half_saturation=r.half_saturation[keep], slope=r.slope[keep])  # fmt: skip
    fitted = replace(fitted, response=thinned)
    out: dict[str, Any] = {"channels": len(fitted.channels), "draws": thinned.n_draws}
    for objective in ("mean", "mean_minus_sd", "cvar"):
        settings = OptimizerConfig(objective=objective)  # type: ignore[arg-type]
        plan = build_plan(fitted, settings)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = solve(plan.problem)
            seconds.append(time.perf_counter() - start)
        out[objective] = {
            "median_seconds": float(np.median(seconds)),
            "max_seconds": float(np.max(seconds)),
            "iterations": result.iterations,
            "converged": result.converged,
        }
    return out


def main() -> None:
    from omegaconf import OmegaConf

    from mmm_runner.config.optimizer import OptimizerConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cases = [CASES[i] for i in QUICK] if args.quick else CASES
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec, model in cases:
            start = time.perf_counter()
            run_dir, truth = fit(spec, model, Path(tmp), SAMPLER)
            for label, overrides in SETTINGS.items():
                settings = OmegaConf.merge(OmegaConf.structured(OptimizerConfig), overrides)
                row = captured_uplift(spec, truth, run_dir, settings)
                rows.append(row)
                print(f"{row['case']:<38} {label:<22} captured {row['captured']:.3f}  true "
                      f"optimum uplift {row['relative_true_optimum']:+.2%}  fit converged "
                      f"{row['fit_converged']}  fitted x {row['fitted_multipliers']}  true x "
                      f"{row['true_multipliers']}  ({time.perf_counter() - start:.0f}s)",
                      flush=True)  # fmt: skip
        worst = min(r["captured"] for r in rows)
        print(f"captured uplift: worst {worst:.3f} over {len(rows)} plans  bar >= 0.90: "
              f"{'PASS' if worst >= 0.9 else 'FAIL'}")  # fmt: skip
        result = timing(Path(tmp))
    slowest = max(result[k]["max_seconds"] for k in ("mean", "mean_minus_sd", "cvar"))
    for k in ("mean", "mean_minus_sd", "cvar"):
        t = result[k]
        print(f"timing {result['channels']} channels x {result['draws']} draws, {k}: median "
              f"{t['median_seconds']:.3f} s, max {t['max_seconds']:.3f} s, {t['iterations']} "
              f"iterations, converged {t['converged']}")  # fmt: skip
    print(f"slowest {slowest:.3f} s  bar < 2 s: {'PASS' if slowest < 2 else 'FAIL'}")


if __name__ == "__main__":
    main()
