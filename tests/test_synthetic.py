"""The simulator's truth is the estimand a fit reports (benchmarks/recovery_study.py scores it).

A recovery study can only judge a model if the true ROAS is the quantity the model estimates:
the same features (adstock, Hill on the training peak, z-scores), the same contribution method,
the same spend. Here the `fixed` truth is recomputed by hand from docs/model.md, and the study's
own config, through the SQL data layer, rebuilds the truth's ROAS from the CSV it writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmm_runner.synthetic import LOG_LEVEL, CaseSpec, simulate_case

SPEC = CaseSpec("fixed", 3, "WEEK", 3, seed=21)  # the study's fixed_hill_3ch_week_3y_s21


def zscore(x: np.ndarray) -> tuple[np.ndarray, float, float]:
    return (x - x.mean()) / x.std(), x.mean(), x.std()


def test_fixed_truth_roas_by_hand() -> None:
    """Adstock, Hill, z-scores and the log-space proportional split, written out in numpy."""
    panel, truth = simulate_case(SPEC)
    p = truth["parameters"]
    n = len(panel)
    t = np.arange(n)
    x_channels, at_zero = [], []
    for name in truth["channels"]:
        x = panel[name].to_numpy(float)
        d = truth["decay"][name]
        carried = np.array([sum(d**lag * x[i - lag] for lag in range(14) if i >= lag) for i in t])
        scaled = carried / carried.max()
        z, mean, sd = zscore(scaled / (0.5 + scaled))  # Hill, K = 0.5 of the peak, S = 1
        x_channels.append(z)
        at_zero.append((0.0 - mean) / sd)  # raw zero activity, z-scored
    angle = 2 * np.pi * t / 52.1775
    controls = [
        panel["ctrl_price"].to_numpy(float),
        np.sin(angle),
        np.cos(angle),
        np.sin(2 * angle),
        np.cos(2 * angle),
        t / (n - 1),
    ]
    x_controls = np.column_stack([zscore(c)[0] for c in controls])
    beta = np.array(p["beta"])
    mu = p["intercept"] + np.column_stack(x_channels) @ beta + x_controls @ np.array(p["gamma"])
    terms = (np.column_stack(x_channels) - np.array(at_zero)) * beta  # t_c
    log_sales = np.log1p(panel["sales"].to_numpy(float))
    m = log_sales.mean()
    assert p["intercept"] == pytest.approx(LOG_LEVEL - m, abs=1e-12)
    total = terms.sum(axis=1)
    fitted, baseline = np.expm1(mu + m), np.expm1(mu - total + m)
    contribution = ((fitted - baseline)[:, None] * terms / total[:, None]).sum(axis=0)
    spend = panel[[c.replace("act_", "spend_") for c in truth["channels"]]].to_numpy(float)
    roas = contribution / spend.sum(axis=0)
    np.testing.assert_allclose(roas, list(truth["roas"].values()), rtol=1e-9)
    # the residual is the simulated noise: Normal(0, 0.04) on log1p(sales)
    assert np.std(log_sales - m - mu) == pytest.approx(SPEC.noise, rel=0.15)
    assert truth["roas"]["act_ch3"] == pytest.approx(0.858, abs=5e-4)  # RECOVERY.md's table


def test_study_config_rebuilds_the_truth_from_its_csv(tmp_path: Path) -> None:
    """The study's overrides, the SQL layer and the fitted structure's own ROAS at the true
    parameters give the truth's ROAS: decays, K, max_lag, seasonality, trend, spend all agree."""
    from benchmarks.recovery_study import case_overrides
    from mmm_runner.analysis.contributions import contribution_report
    from mmm_runner.api.runspec import compose_config
    from mmm_runner.data.canonicalize import canonicalize
    from mmm_runner.data.sql import SqlSession
    from mmm_runner.data.validate import validate
    from mmm_runner.features.build import build_features
    from mmm_runner.model import periods_to_fit, structure_for
    from mmm_runner.synthetic import true_draws

    panel, truth = simulate_case(SPEC)
    csv = tmp_path / f"{SPEC.name}.csv"
    panel.to_csv(csv, index=False)
    cfg = compose_config(case_overrides(SPEC, truth, csv, "fixed"))
    session = SqlSession()
    report = validate(session, csv, cfg.dataset, periods_to_fit(cfg.model, cfg.features))
    assert not report.errors, report.errors
    canonical = canonicalize(session, report.plan)
    session.close()
    plan = report.plan
    features = build_features(
        canonical, plan.target, plan.drivers, plan.controls, cfg.features, report.grain
    )
    assert plan.drivers == truth["channels"] and plan.controls == ["ctrl_price"]
    structure = structure_for(cfg.model, cfg.features)
    roi = contribution_report(structure, true_draws(truth), features, canonical, plan).roi
    for channel in truth["channels"]:
        entry = roi["channels"][channel]
        assert entry["spend_total"] == pytest.approx(truth["spend_total"][channel], rel=1e-12)
        assert entry["roas"]["mean"] == pytest.approx(truth["roas"][channel], rel=1e-9)
    assert pd.Series(features.target).equals(pd.Series(canonical["sales"].to_numpy(float)))
