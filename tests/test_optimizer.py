"""The budget optimizer: gradients, brute force on the truth, constructed risk cases, the CLI
and its errors, and the plan found on a fit valued under the truth."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mmm_runner.analysis.allocation import AllocationProblem, Objective, solve
from mmm_runner.analysis.response import IDENTITY, MediaResponse, media_response
from mmm_runner.config.optimizer import OptimizerConfig, optimizer_config
from mmm_runner.config.schema import FeaturesConfig, ModelConfig
from mmm_runner.errors import ConfigError
from mmm_runner.features.build import build_features
from mmm_runner.model.parameters import Draws
from mmm_runner.optimize.loaded import RunNotReadyError, load_fitted
from mmm_runner.optimize.run import build_plan, optimize_run
from mmm_runner.synthetic import CaseSpec, simulate_case, true_response, true_structure
from tests.conftest import ROOT, run_cli

FEATURES_CFG = OmegaConf.structured(FeaturesConfig)


def case(spec: CaseSpec) -> tuple[MediaResponse, np.ndarray, object]:
    """The true response of a simulated case, its spend per channel, and its features."""
    panel, truth = simulate_case(spec)
    panel["period_start"] = pd.to_datetime(panel["period_start"])
    features = build_features(
        panel, "sales", truth["channels"], ["ctrl_price"], FEATURES_CFG, spec.grain
    )
    spend = np.array(list(truth["spend_total"].values()))
    return true_response(spec, truth, features), spend, features


def hand_response(coef: np.ndarray, carried: np.ndarray) -> MediaResponse:
    """An additive response built by hand: Hill K = 0.5, S = 1; coef (S, C), carried (T, C)."""
    n_draws, n_channels = coef.shape
    return MediaResponse(
        channels=tuple(f"ch{i}" for i in range(n_channels)),
        family="hill",
        carried=carried[None],
        half_saturation=np.full((1, n_channels), 0.5),
        slope=np.ones((1, n_channels)),
        coef=coef,
        base=np.ones((n_draws, carried.shape[0])),
        link=IDENTITY,
        offset=0.0,
        scale=100.0,
        weight=np.ones(carried.shape[0]),
    )


def problem(response, spend, lower, upper, budget, objective="mean", **kw) -> AllocationProblem:
    n = len(spend)
    return AllocationProblem(
        response, np.asarray(spend, float), np.full(n, lower), np.full(n, upper), budget,
        Objective(objective, **kw),
    )  # fmt: skip


@pytest.mark.parametrize("structure", ["learned", "additive", "logistic", "fixed"])
def test_gradient_matches_finite_differences(structure: str) -> None:
    saturation = "logistic" if structure == "logistic" else "hill"
    spec = CaseSpec(
        "learned" if structure == "logistic" else structure, 3, "WEEK", 2,
        saturation=saturation, seed=3,
    )  # fmt: skip
    _, _, features = case(spec)
    st = true_structure(spec)
    model_cfg = OmegaConf.structured(ModelConfig(structure=st.name))
    draws = Draws(st.prior_draws(model_cfg, features, 8, seed=1), 8)
    response = media_response(st, draws, features, FEATURES_CFG)
    x = np.array([0.7, 1.3, 0.4])
    _, grad = response.total_and_grad(x)
    for c in range(3):
        step = np.zeros(3)
        step[c] = 1e-6
        numeric = (response.total(x + step) - response.total(x - step)) / 2e-6
        np.testing.assert_allclose(grad[:, c], numeric, rtol=1e-5)
    r = response.total(x)
    for kind in ("mean_minus_sd", "cvar"):
        objective = Objective(kind, risk_aversion=2.0, alpha=0.25)
        _, g = objective.value_and_grad(r, grad)
        for c in range(3):
            step = np.zeros(3)
            step[c] = 1e-6
            up = objective.value(response.total(x + step))
            down = objective.value(response.total(x - step))
            assert g[c] == pytest.approx((up - down) / 2e-6, rel=1e-4)


@pytest.mark.parametrize("structure", ["learned", "additive"])
def test_optimizer_on_the_truth_agrees_with_brute_force(structure: str) -> None:
    """Acceptance 2: 3 channels, budget +10%, bounds [0.5, 2]: grid over two multipliers, the
    third from the budget; the optimizer is at least as good and lands on the grid's best."""
    response, spend, _ = case(CaseSpec(structure, 3, "WEEK", 2, seed=7))
    budget = 1.1 * spend.sum()
    found = solve(problem(response, spend, 0.5, 2.0, budget))
    assert found.converged
    grid = np.arange(0.5, 2.0 + 1e-9, 0.005)
    x1, x2 = (a.ravel() for a in np.meshgrid(grid, grid))
    x3 = (budget - spend[0] * x1 - spend[1] * x2) / spend[2]
    keep = (x3 >= 0.5) & (x3 <= 2.0)
    plans = np.column_stack([x1[keep], x2[keep], x3[keep]])
    values = response.total(plans)  # one true draw, evaluated at every plan at once
    best = plans[np.argmax(values)]
    optimum = response.total(found.multipliers)[0]
    assert optimum >= values.max() - 1e-9 * abs(values.max())
    np.testing.assert_allclose(found.multipliers, best, atol=0.01)
    assert spend @ found.multipliers == pytest.approx(budget, rel=1e-9)


def test_bounds_1_1_keep_the_current_plan_and_wider_bounds_never_lose() -> None:
    """Acceptance 3 on a simulated truth (the sample run's version is tested on the CLI)."""
    response, spend, _ = case(CaseSpec("learned", 4, "WEEK", 2, seed=9))
    held = solve(problem(response, spend, 1.0, 1.0, spend.sum()))
    np.testing.assert_array_equal(held.multipliers, np.ones(4))
    assert (held.incremental_optimal == held.incremental_current).all()
    assert held.bound == ["fixed"] * 4
    previous = -np.inf
    for low, high in [(0.95, 1.05), (0.8, 1.25), (0.5, 2.0), (0.2, 3.0), (0.0, 5.0)]:
        for kind in ("mean", "mean_minus_sd"):
            found = solve(problem(response, spend, low, high, spend.sum(), kind))
            assert found.objective_optimal >= found.objective_current - 1e-9
        found = solve(problem(response, spend, low, high, spend.sum()))
        assert found.objective_optimal >= previous - 1e-9 * abs(previous)
        previous = found.objective_optimal


def test_risk_aversion_moves_spend_to_the_channel_with_the_narrower_interval() -> None:
    """Acceptance 4: two channels with the same media, spend and mean effect; one's effect is
    certain, the other's spread over draws. The mean splits evenly; mean_minus_sd and CVaR
    move spend to the certain channel."""
    rng = np.random.default_rng(0)
    carried = np.tile(rng.uniform(0.2, 0.8, (52, 1)), (1, 2))
    uncertain = rng.lognormal(0.0, 0.6, 2000)
    coef = np.column_stack([np.full(2000, uncertain.mean()), uncertain]) * 0.1
    response = hand_response(coef, carried)
    spend = np.array([1000.0, 1000.0])
    even = solve(problem(response, spend, 0.2, 3.0, 2000.0))
    np.testing.assert_allclose(even.multipliers, [1.0, 1.0], atol=1e-4)
    careful = solve(problem(response, spend, 0.2, 3.0, 2000.0, "mean_minus_sd", risk_aversion=5))
    tail = solve(problem(response, spend, 0.2, 3.0, 2000.0, "cvar", alpha=0.1))
    for found in (careful, tail):
        assert found.multipliers[0] > 1.3 and found.multipliers[1] < 0.7
        assert found.incremental_optimal.std() < even.incremental_optimal.std()
    assert careful.multipliers[0] == pytest.approx(2.0 - careful.multipliers[1], rel=1e-9)


def test_steady_state_horizon_of_a_constant_window_is_the_window_rescaled() -> None:
    response = hand_response(np.array([[0.2, 0.1]]), np.full((10, 2), 0.4))
    steady = response.steady_state(26)
    x = np.array([1.3, 0.6])
    assert steady.total(x)[0] == pytest.approx(response.total(x)[0] * 26 / 10, rel=1e-12)


def test_an_unfinished_optimizer_keeps_a_feasible_plan_and_says_so() -> None:
    response, spend, _ = case(CaseSpec("additive", 3, "WEEK", 2, seed=11))
    found = solve(problem(response, spend, 0.5, 2.0, spend.sum()), max_iterations=1)
    assert not found.converged and "Iteration limit" in found.message
    assert spend @ found.multipliers == pytest.approx(spend.sum(), rel=1e-6)
    assert found.objective_optimal >= found.objective_current - 1e-9


def optimize_cli(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmm_runner.optimize", str(run_dir), *overrides],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def run_copy(sample_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(sample_run, tmp_path / "run"))


def test_cli_writes_the_allocation_and_prints_the_uplift(run_copy: Path) -> None:
    done = optimize_cli(run_copy, "optimizer.budget_change=0.1", "name=plus10")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "uplift:" in done.stdout and "P(uplift > 0)" in done.stdout
    folder = run_copy / "optimizations" / "plus10"
    doc = json.loads((folder / "budget_allocation.json").read_text())
    roi = json.loads((run_copy / "roi_metrics.json").read_text())
    spend = {c: e["spend_total"] for c, e in roi["channels"].items()}
    assert doc["budget"]["current_total"] == pytest.approx(sum(spend.values()))
    assert doc["budget"]["optimal_total"] == pytest.approx(1.1 * sum(spend.values()), rel=1e-6)
    for name, entry in doc["channels"].items():
        assert entry["current_spend"] == pytest.approx(spend[name])
        assert entry["optimal_spend"] == pytest.approx(entry["multiplier"] * spend[name])
        assert 0.5 - 1e-9 <= entry["multiplier"] <= 2.0 + 1e-9
        assert entry["bound_binds"] in (None, "lower", "upper")
        assert f"| {name} |" in (folder / "budget_allocation.md").read_text()
    uplift, target = doc["uplift"], doc["incremental_target"]
    assert uplift["mean"] == pytest.approx(target["optimal"]["mean"] - target["current"]["mean"])
    assert uplift["hdi_lower"] <= uplift["mean"] <= uplift["hdi_upper"]
    assert uplift["mean"] > 0 and 0 <= uplift["p_positive"] <= 1
    assert doc["optimizer"]["converged"] is True and doc["window"]["kind"] == "historical"
    # the current plan's expected target is the fit's own: every channel at 1x
    fitted = load_fitted(run_copy)
    mask = np.isfinite(fitted.spend)
    now = fitted.response.total(np.ones(3)) - fitted.response.total(np.where(mask, 0.0, 1.0))
    assert target["current"]["mean"] == pytest.approx(now.mean(), rel=1e-12)


def test_bounds_1_1_on_the_sample_run_change_nothing(run_copy: Path) -> None:
    """Acceptance 3 on the fitted sample, through `optimize_run` (the REST layer's call)."""
    cfg = OptimizerConfig(budget_change=0.0, bounds=[1.0, 1.0])
    doc = optimize_run(run_copy, cfg, name="held")
    for entry in doc["channels"].values():
        assert entry["multiplier"] == 1.0 and entry["bound_binds"] == "fixed"
        assert entry["optimal_spend"] == entry["current_spend"]
    assert doc["uplift"]["mean"] == 0.0 and doc["uplift"]["hdi_upper"] == 0.0
    assert (run_copy / "optimizations" / "held" / "budget_allocation.md").is_file()
    fitted = load_fitted(run_copy)
    previous = -np.inf
    for bounds in ([0.9, 1.1], [0.7, 1.5], [0.5, 2.0], [0.25, 3.0]):
        plan = build_plan(fitted, OmegaConf.structured(OptimizerConfig(bounds=bounds)))
        value = solve(plan.problem).objective_optimal
        assert value >= previous - 1e-9 * abs(value)
        previous = value


def test_horizon_plans_n_periods_at_the_average_spend(run_copy: Path) -> None:
    doc = optimize_run(run_copy, OptimizerConfig(horizon=13), name="quarter")
    roi = json.loads((run_copy / "roi_metrics.json").read_text())
    n = doc["window"]["periods"]
    assert doc["window"]["kind"] == "horizon" and doc["window"]["horizon"] == 13
    for name, entry in doc["channels"].items():
        assert entry["current_spend"] == pytest.approx(
            roi["channels"][name]["spend_total"] / n * 13
        )
    assert "steady state" in doc["window"]["description"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optimizer.channel_bounds.act_cinema=[0.5,1.5]"],
         "optimizer.channel_bounds.act_cinema: 'act_cinema' is not a channel of this run"),
        (["optimizer.bounds=[1,1]", "optimizer.budget_change=0.2"],
         "optimizer.bounds: the spend multiplier bounds allow a total of"),
        (["optimizer.budget=0"], "optimizer.budget: must be > 0"),
        (["optimizer.budget=-100"], "optimizer.budget: must be > 0"),
        (["optimizer.budget_change=-1"], "optimizer.budget_change: must be > -1"),
        (["optimizer.bounds=[2,1]"], "optimizer.bounds: needs 0 <= lower <= upper"),
        (["optimizer.objective=maximum"], "optimizer.objective"),
        (["optimizer.risk_aversoin=2"], "risk_aversoin"),
        (["name=../escape"], "name: must match"),
    ],
    ids=["unknown_channel", "infeasible", "budget_zero", "budget_negative", "change", "order",
         "objective", "typo", "name"],
)  # fmt: skip
def test_bad_settings_fail_naming_the_key_and_write_nothing(
    run_copy: Path, overrides: list[str], message: str
) -> None:
    done = optimize_cli(run_copy, *overrides)
    assert done.returncode == 1
    assert message in done.stderr, done.stderr[-2000:]
    assert not (run_copy / "optimizations").exists()


def test_settings_from_plain_values_are_typed_and_checked() -> None:
    """`optimizer_config`: what the REST layer passes to `optimize_run`."""
    cfg = optimizer_config({"objective": "cvar", "channel_bounds": {"act_tv": [1, 1]}})
    assert cfg.objective == "cvar" and cfg.channel_bounds.act_tv == [1.0, 1.0]
    assert cfg.bounds == [0.5, 2.0] and cfg.budget is None
    for values, message in [
        ({"risk_aversoin": 2}, "optimizer.risk_aversoin: Key 'risk_aversoin' not in"),
        ({"objective": "max"}, "optimizer.objective: Invalid value 'max'"),
        ({"alpha": 0}, "optimizer.alpha: must be in (0, 1]"),
        ({"channel_bounds": {"act_tv": [1]}}, "optimizer.channel_bounds.act_tv: must be [lower"),
    ]:
        with pytest.raises(ConfigError) as caught:
            optimizer_config(values)
        assert str(caught.value).startswith(message)


def test_a_run_that_is_not_finished_is_refused(run_copy: Path) -> None:
    status = json.loads((run_copy / "status.json").read_text())
    status["stage"] = "TRAINING"
    (run_copy / "status.json").write_text(json.dumps(status))
    done = optimize_cli(run_copy)
    assert done.returncode == 1
    assert f"run_dir: {run_copy} is at stage TRAINING, not OUTPUTS_READY" in done.stderr
    with pytest.raises(RunNotReadyError, match="not OUTPUTS_READY"):
        optimize_run(run_copy, OptimizerConfig())
    assert not (run_copy / "optimizations").exists()
    with pytest.raises(ConfigError, match=r"optimizer\.budget: must be > 0"):
        optimize_run(run_copy, OptimizerConfig(budget=0.0))


def test_plan_found_on_a_fit_captures_the_true_optimum(tmp_path: Path) -> None:
    """Acceptance 1 on one case (benchmarks/optimizer_bench.py runs several): a blind fit with
    small draws, its plan valued under the true parameters, >= 90% of the true optimum's uplift."""
    spec = CaseSpec("learned", 3, "WEEK", 3, seed=1)
    panel, truth = simulate_case(spec)
    csv = tmp_path / "case.csv"
    panel.to_csv(csv, index=False)
    run = run_cli(
        tmp_path / "run", f"dataset.path={csv}", "dataset.name=case", "dataset.drivers=[]",
        "dataset.controls=[]", "sampler=fast", "sampler.draws=200", "sampler.tune=300",
        "sampler.chains=2",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    settings = OmegaConf.structured(OptimizerConfig())
    doc = optimize_run(run.run_dir, settings)
    fitted = load_fitted(run.run_dir)
    x_fit = np.array([doc["channels"][c]["multiplier"] for c in fitted.channels])
    truth_response = true_response(spec, truth, fitted.features.training)
    plan = build_plan(fitted, settings)
    best = solve(replace(plan.problem, response=truth_response))
    now = truth_response.total(np.ones(3))[0]
    best_uplift = best.incremental_optimal[0] - best.incremental_current[0]
    assert best_uplift > 0.05 * best.incremental_current[0]  # a real reallocation to find
    captured = (truth_response.total(x_fit)[0] - now) / best_uplift
    assert captured >= 0.9, (captured, x_fit, best.multipliers)


def test_a_rerun_clears_allocations_made_on_the_old_posterior(tmp_path: Path) -> None:
    from mmm_runner.store.run_lock import clear_previous_attempt

    old = tmp_path / "optimizations" / "mean-1234abcd" / "budget_allocation.json"
    old.parent.mkdir(parents=True)
    old.write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    clear_previous_attempt(tmp_path)
    assert not (tmp_path / "optimizations").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"
