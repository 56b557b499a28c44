"""Calibration: lift tests as likelihood terms and ROAS priors (docs/model.md, "Calibration").

The lift term is the model's own counterfactual: each test recomputes it by hand (the channel's
scaled media changed in the window, the observed centring and scaling of h kept) and compares it
with the numpy equations and with the term in the PyMC graph. Bad entries fail naming the entry.
The slow tests fit simulated data with known truth.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mmm_runner.config.calibration import LiftTestConfig, check_calibration
from mmm_runner.config.schema import FeaturesConfig, ModelConfig, SamplerConfig
from mmm_runner.errors import ConfigError
from mmm_runner.features.build import build_features
from mmm_runner.model.calibration import (
    Calibration,
    build_calibration,
    channel_roas,
    load_entries,
    predicted_lift,
)
from mmm_runner.model.media import lagged
from mmm_runner.model.parameters import Draws
from mmm_runner.synthetic import CaseSpec, simulate_case, true_structure
from tests.conftest import run_cli

FEATURES_CFG = OmegaConf.structured(FeaturesConfig)


def case(spec: CaseSpec, holdout: int = 0) -> tuple:
    """Features as the pipeline builds them, the truth, the panel and per-period spend."""
    panel, truth = simulate_case(spec)
    panel["period_start"] = pd.to_datetime(panel["period_start"])
    features = build_features(
        panel, "sales", truth["channels"], ["ctrl_price"], FEATURES_CFG, spec.grain,
        holdout_periods=holdout,
    )  # fmt: skip
    spend = panel[[c.replace("act_", "spend_") for c in truth["channels"]]].to_numpy(float)
    return features, truth, panel, spend[: features.n_fit]


def run_cfg(entries: list, roas_prior: dict | None = None, path: str | None = None):
    return SimpleNamespace(
        calibration=SimpleNamespace(entries=entries, path=path),
        model=SimpleNamespace(roas_prior=roas_prior or {}),
    )


def entry(**kw) -> LiftTestConfig:
    base = dict(
        channel="act_ch1", start="2021-06-07", end="2021-07-26", spend_change=-1.0,
        lift=-1000.0, lift_se=500.0,
    )  # fmt: skip
    return LiftTestConfig(**{**base, **kw})


def lift_by_hand(structure, params, features, channel: int, window, measured, change) -> np.ndarray:
    """(S,) target with the channel's media x (1 + change) in the window minus as observed."""
    data = structure.model_data(features)
    _, _, spread = structure.standardized(params, data, np)
    mu = structure.mean(params, data, np)
    observed = structure.saturated(params, data, np)[..., channel]
    media = features.media_scaled.copy()
    media[:, channel] *= 1.0 + change * window
    moved_data = {**data, "media_lags": lagged(media, structure.recipe.max_lag)}
    moved = structure.saturated(params, moved_data, np)[..., channel]
    shift = (params["beta"][:, channel] / spread[:, channel])[:, None] * (moved - observed)
    changed = structure.to_original(mu + shift, features)
    return ((changed - structure.to_original(mu, features)) * measured).sum(-1)


def graph_values(model, names: list[str], values: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Graph quantities evaluated with the free variables set to `values` (constrained)."""
    import pytensor
    from pytensor.graph.traversal import ancestors

    outputs = [model[n] if n in model.named_vars else n for n in names]
    outputs = [next(p for p in model.potentials if p.name == n) if isinstance(n, str) else n
               for n in outputs]  # fmt: skip
    inside = set(ancestors(outputs))
    replace = {
        model[k]: pytensor.tensor.as_tensor_variable(np.asarray(v, dtype=model[k].dtype))
        for k, v in values.items()
        if k in model.named_vars and model[k] in inside
    }
    return [np.asarray(o.eval()) for o in pytensor.clone_replace(outputs, replace=replace)]


@pytest.mark.parametrize(
    "spec",
    [
        CaseSpec("learned", 3, "WEEK", 2, seed=1),
        CaseSpec("additive", 3, "WEEK", 2, seed=11),
        CaseSpec("learned", 3, "WEEK", 2, saturation="logistic", seed=6),
    ],
    ids=["learned", "additive", "logistic"],
)
def test_lift_term_in_graph_is_the_counterfactual_computed_by_hand(spec: CaseSpec) -> None:
    features, truth, _, spend = case(spec)
    structure = true_structure(spec)
    entries = [
        entry(),  # a holdout
        entry(channel="act_ch2", start="2022-01-03", end="2022-02-28", spend_change=0.5,
              lift=800.0, measure_end="2022-04-25"),  # +50%, measured through a cool-down
    ]  # fmt: skip
    calibration = build_calibration(run_cfg(entries), structure, features, spend)
    assert calibration is not None and len(calibration.tests) == 2
    training = features.training
    rng = np.random.default_rng(3)
    params = Draws.single(truth["parameters"]).values
    batch = {  # the truth and 3 perturbed draws
        k: np.concatenate([v, v * rng.uniform(0.7, 1.3, (3, *v.shape[1:]))])
        for k, v in params.items()
    }
    batch["decay"] = np.clip(batch["decay"], 0.01, 0.95)
    data = structure.model_data(training)
    for test in calibration.tests:
        numpy_lift = predicted_lift(structure, batch, data, test, training, np)
        by_hand = lift_by_hand(
            structure, batch, training, test.index, test.window, test.measured, test.spend_change
        )
        np.testing.assert_allclose(numpy_lift, by_hand, rtol=1e-9)
        assert test.spend_delta == pytest.approx(
            test.spend_change * (spend[:, test.index] * test.window).sum()
        )
    assert calibration.tests[1].measured.sum() > calibration.tests[1].window.sum()
    # the graph's deterministic and potential at the truth
    model_cfg = OmegaConf.structured(ModelConfig(structure=spec.structure))
    model = structure.with_terms(calibration).build_pymc(training, model_cfg)
    first = {k: v[0] for k, v in batch.items()}
    first |= {"sigma_beta": 0.1, "sigma": 0.05, "nu": 10.0}
    in_graph, potential = graph_values(model, ["calibration_lift", "calibration_lift_logp"], first)
    expected = np.array(
        [predicted_lift(structure, params, data, t, training, np)[0] for t in calibration.tests]
    )
    np.testing.assert_allclose(in_graph, expected, rtol=1e-9)
    lift = np.array([t.lift for t in calibration.tests])
    se = np.array([t.lift_se for t in calibration.tests])
    normal = -0.5 * ((lift - expected) / se) ** 2  # log Normal(lift | expected, se) + const
    np.testing.assert_allclose(potential, normal.sum(), rtol=1e-9)


def test_no_calibration_changes_nothing() -> None:
    """Nothing configured: no terms, the same structure object (the native fast path stays)."""
    spec = CaseSpec("learned", 3, "WEEK", 2, seed=1)
    features, _, _, spend = case(spec)
    structure = true_structure(spec)
    assert build_calibration(run_cfg([]), structure, features, spend) is None
    assert structure.with_terms() is structure and structure.extra_terms == ()
    model_cfg = OmegaConf.structured(ModelConfig(structure="learned"))
    plain = structure.build_pymc(features.training, model_cfg)
    assert plain.potentials == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (dict(channel="act_xx"), r"calibration.entries\[1\].channel: unknown channel 'act_xx'; "
         "channels: act_ch1, act_ch2, act_ch3"),
        (dict(start="2020-01-06"), r"calibration.entries\[1\]: window 2020-01-06..2021-07-26 is "
         "outside the training window"),
        (dict(end="2023-06-05", start="2022-12-05"), r"entries\[1\]: .* outside the training"),
        (dict(measure_end="2023-06-05"), r"entries\[1\]: .* outside the training"),
        (dict(lift_se=0.0), r"calibration.entries\[1\].lift_se: must be > 0"),
        (dict(lift_se=-5.0), r"calibration.entries\[1\].lift_se: must be > 0"),
        (dict(spend_change=-1.5), r"calibration.entries\[1\].spend_change: must be a fraction"),
        (dict(spend_change=0.0), r"calibration.entries\[1\].spend_change"),
        (dict(end="2021-05-03"), r"calibration.entries\[1\].end: .* before start"),
        (dict(start="June"), r"calibration.entries\[1\].start: 'June' is not a date"),
    ],
    ids=["channel", "before", "holdout", "measure_end", "se0", "se<0", "change", "zero", "order",
         "date"],
)  # fmt: skip
def test_bad_entries_fail_naming_the_entry(bad: dict, message: str) -> None:
    spec = CaseSpec("learned", 3, "WEEK", 2, seed=1)
    features, _, _, spend = case(spec, holdout=10)  # the last 10 weeks are not fitted
    structure = true_structure(spec)
    with pytest.raises(ConfigError, match=message):
        build_calibration(run_cfg([entry(), entry(**bad)]), structure, features, spend)


def test_config_time_checks_and_csv_entries(tmp_path: Path) -> None:
    """Without data: lift_se, dates and spend_change; a listed driver set names the channels."""
    cfg = run_cfg([entry(), entry(lift_se=0.0)])
    with pytest.raises(ConfigError, match=r"calibration.entries\[1\].lift_se"):
        check_calibration(cfg.calibration)
    with pytest.raises(ConfigError, match=r"entries\[0\].channel: unknown channel 'act_ch1'"):
        check_calibration(run_cfg([entry()]).calibration, ["act_tv", "act_radio"])
    good = pd.DataFrame([vars(entry()), vars(entry(channel="act_ch2", name=None))])
    good.to_csv(tmp_path / "lifts.csv", index=False)
    loaded = load_entries(run_cfg([], path=str(tmp_path / "lifts.csv")).calibration)
    assert [e.channel for _, e in loaded] == ["act_ch1", "act_ch2"]
    assert loaded[1][0] == "calibration.path (lifts.csv) row 2"
    good.assign(lift_se=["1", "-1"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ConfigError, match=r"calibration.path \(bad.csv\) row 2.lift_se"):
        load_entries(run_cfg([], path=str(tmp_path / "bad.csv")).calibration)


def test_bad_entry_fails_at_once_from_the_cli(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "r", "calibration=example", "calibration.entries.0.channel=act_xx")
    assert run.returncode == 1
    assert (
        "calibration.entries[0].channel: unknown channel 'act_xx'; channels: act_tv, "
        "act_digital, act_radio" in run.stderr
    )
    assert run.status["stage"] == "ERROR"


@pytest.mark.parametrize("structure_name", ["learned", "additive"])
def test_roas_prior_term_is_the_change_of_variables(structure_name: str) -> None:
    """roas_c(beta_c) is monotone; the potential is log p_roas(roas) + log d roas / d beta minus
    the beta prior (centred and non-centred); d roas / d beta matches finite differences."""
    import pymc as pm

    spec = CaseSpec(structure_name, 3, "WEEK", 2, seed=11)
    features, truth, _, spend = case(spec)
    structure = true_structure(spec)
    prior = {"act_ch2": {"dist": "LogNormal", "params": {"mu": 0.0, "sigma": 0.2}}}
    calibration = build_calibration(run_cfg([], prior), structure, features, spend)
    assert isinstance(calibration, Calibration) and not calibration.tests
    training = features.training
    data = structure.model_data(training)
    params = Draws.single(truth["parameters"]).values
    weight, spend_c = calibration.weight, calibration.spend_vector()
    roas, slope = channel_roas(structure, params, data, weight, spend_c, np)
    step = 1e-6
    moved = {**params, "beta": params["beta"] + step}
    roas_up, _ = channel_roas(structure, moved, data, weight, spend_c, np)
    np.testing.assert_allclose((roas_up - roas) / step, slope, rtol=1e-4)
    if structure_name == "additive":  # exactly the reported ROAS
        assert roas[0, 1] == pytest.approx(truth["roas"]["act_ch2"], rel=1e-9)
    for parametrization in ("centered", "non_centered"):
        model_cfg = OmegaConf.structured(
            ModelConfig(structure=structure_name, beta_parametrization=parametrization)
        )
        model = structure.with_terms(calibration).build_pymc(training, model_cfg)
        values = {k: v[0] for k, v in params.items()} | {"sigma_beta": 0.1}
        if parametrization == "non_centered":
            values["beta_raw"] = values.pop("beta") / 0.1
        (potential,) = graph_values(model, ["roas_prior"], values)
        beta_prior = pm.logp(pm.HalfNormal.dist(sigma=1.0 if "beta_raw" in values else 0.1),
                             values.get("beta_raw", values.get("beta"))[1]).eval()  # fmt: skip
        jacobian = slope[0, 1] * (0.1 if parametrization == "non_centered" else 1.0)
        roas_logp = pm.logp(pm.LogNormal.dist(mu=0.0, sigma=0.2), roas[0, 1]).eval()
        assert potential == pytest.approx(roas_logp + np.log(jacobian) - beta_prior, rel=1e-9)


def test_roas_prior_needs_spend_and_a_learned_structure() -> None:
    spec = CaseSpec("learned", 3, "WEEK", 2, seed=1)
    features, _, _, spend = case(spec)
    prior = {"act_ch1": {"dist": "LogNormal", "params": {"mu": 0.0, "sigma": 0.2}}}
    no_spend = spend.copy()
    no_spend[:, 0] = np.nan
    with pytest.raises(ConfigError, match=r"model\.roas_prior\.act_ch1: act_ch1 has no spend"):
        build_calibration(run_cfg([], prior), true_structure(spec), features, no_spend)
    with pytest.raises(ConfigError, match=r"model\.roas_prior\.act_zz: unknown channel"):
        build_calibration(run_cfg([], {"act_zz": prior["act_ch1"]}), true_structure(spec),
                          features, spend)  # fmt: skip
    fixed = true_structure(CaseSpec("fixed", 3))
    with pytest.raises(ConfigError, match="needs model=default or model=additive"):
        build_calibration(run_cfg([entry()]), fixed, features, spend)


# ------------------------------------------------------------------------------- with sampling
SAMPLER = dict(draws=400, tune=400, chains=2, random_seed=1)


def fit(structure, features, model_cfg, calibration=None, **sampler):
    from mmm_runner.inference.fit import fit as fit_backend

    if calibration is not None:
        structure = structure.with_terms(calibration)
    cfg = OmegaConf.structured(SamplerConfig(**{**SAMPLER, **sampler}))
    result = fit_backend(structure, features.training, model_cfg, cfg)
    return result, structure.draws(result.idata, model_cfg, features.training)


def roas_of(structure, draws, features, spend) -> np.ndarray:
    """(S, C) reported ROAS per draw: contribution over the training window / spend."""
    parts = structure.predict(draws, features.training)
    return parts.contributions.sum(1) / spend.sum(0)


def default_model_cfg(**overrides):
    """conf/model/<name>.yaml as the CLI composes it (the schema's defaults under it)."""
    from mmm_runner.resources import conf_dir

    name = overrides.pop("name", "default")
    node = OmegaConf.structured(ModelConfig)
    for file in ["default"] if name == "default" else ["default", name]:
        loaded = OmegaConf.load(conf_dir() / "model" / f"{file}.yaml")
        loaded.pop("defaults", None)
        node = OmegaConf.merge(node, loaded)
    return OmegaConf.merge(node, overrides)


CORRELATED = CaseSpec("learned", 3, "WEEK", 3, seed=2, correlated=0.1, betas=(0.10, 0.01, 0.06))


@pytest.mark.slow
def test_one_lift_test_moves_two_correlated_channels_to_the_truth() -> None:
    """Acceptance: act_ch2 is bought with act_ch1 (corr 0.99) but does almost nothing. Alone,
    the model splits their joint effect; one holdout of act_ch1 (its true lift, se 10%) moves both
    ROAS toward the truth and inside their intervals. A contradicting test with a tiny se
    dominates; with a huge se it changes nothing."""
    from mmm_runner.model import structure_for

    features, truth, _, spend = case(CORRELATED)
    model_cfg = default_model_cfg()
    structure = structure_for(model_cfg, FEATURES_CFG)
    truth_params = Draws.single(truth["parameters"]).values
    holdout = entry(start="2022-03-07", end="2022-04-25", measure_end="2022-05-23")
    probe = build_calibration(run_cfg([holdout]), structure, features, spend)
    data = structure.model_data(features.training)
    true_lift = float(
        predicted_lift(true_structure(CORRELATED), truth_params, data, probe.tests[0],
                       features.training, np)[0]
    )  # fmt: skip
    true_roas = np.array([truth["roas"][c] for c in truth["channels"]])

    def calibrated(lift: float, se: float):
        test = entry(start=holdout.start, end=holdout.end, measure_end=holdout.measure_end,
                     lift=lift, lift_se=se)  # fmt: skip
        calibration = build_calibration(run_cfg([test]), structure, features, spend)
        result, draws = fit(structure, features, model_cfg, calibration)
        assert result.details["path"] == "pymc-graph"
        lifts = predicted_lift(structure, draws.values, data, calibration.tests[0],
                               features.training, np)  # fmt: skip
        return roas_of(structure, draws, features, spend), lifts

    base_result, base_draws = fit(structure, features, model_cfg)
    assert base_result.details["path"] == "native"
    base = roas_of(structure, base_draws, features, spend)
    with_test, lifts = calibrated(true_lift, 0.1 * abs(true_lift))

    def inside(roas: np.ndarray) -> np.ndarray:
        from mmm_runner.analysis.intervals import hdi

        bounds = np.array([hdi(roas[:, i]) for i in range(roas.shape[1])])
        return (bounds[:, 0] <= true_roas) & (true_roas <= bounds[:, 1])

    report = {
        "true": true_roas.round(3), "base": base.mean(0).round(3),
        "with_test": with_test.mean(0).round(3), "true_lift": round(true_lift),
    }  # fmt: skip
    assert not inside(base)[:2].all(), report  # the brand model alone misattributes
    error_base = np.abs(base.mean(0) - true_roas)[:2]
    error_test = np.abs(with_test.mean(0) - true_roas)[:2]
    assert (error_test < error_base).all(), report
    assert inside(with_test)[:2].all(), report
    assert abs(lifts.mean() - true_lift) < 0.15 * abs(true_lift), report

    # a contradicting test: tiny se dominates, huge se is inert
    wrong = 2.5 * true_lift
    _, tiny = calibrated(wrong, 0.01 * abs(wrong))
    assert abs(tiny.mean() - wrong) < 0.05 * abs(wrong), (tiny.mean(), wrong)
    huge_roas, _ = calibrated(wrong, 1e4 * abs(wrong))
    moved = np.abs(huge_roas.mean(0) - base.mean(0)) / base.std(0)
    assert (moved < 0.35).all(), (moved, report)


@pytest.mark.slow
def test_a_tight_roas_prior_holds_the_posterior_roas() -> None:
    """model=additive: a channel's ROAS is linear in beta, so the prior is on the reported ROAS
    itself. A tight prior at 1.5x the truth puts the posterior ROAS there."""
    from mmm_runner.model import structure_for

    spec = CaseSpec("additive", 3, "WEEK", 2, seed=11)
    features, truth, _, spend = case(spec)
    target = 1.5 * truth["roas"]["act_ch2"]
    prior = {"act_ch2": {"dist": "LogNormal", "params": {"mu": float(np.log(target)),
                                                          "sigma": 0.02}}}  # fmt: skip
    model_cfg = default_model_cfg(name="additive")
    structure = structure_for(model_cfg, FEATURES_CFG)
    calibration = build_calibration(run_cfg([], prior), structure, features, spend)
    _, draws = fit(structure, features, model_cfg, calibration)
    roas = roas_of(structure, draws, features, spend)[:, 1]
    assert roas.mean() == pytest.approx(target, rel=0.03)
    assert roas.std() < 0.04 * target


@pytest.mark.slow
def test_calibrated_run_end_to_end(tmp_path: Path) -> None:
    """The CLI: calibration=example on the sample; diagnostics.json and the printed line."""
    run = run_cli(
        tmp_path / "run", "calibration=example", "sampler=fast", "sampler.draws=200",
        "sampler.tune=200", "sampler.chains=2",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    section = run.json("diagnostics.json")["calibration"]
    (test,) = section["lift_tests"]
    assert test["name"] == "tv_geo_holdout_2023" and test["periods_changed"] == 8
    assert test["measured"] == {"lift": -110000.0, "se": 25000.0}
    assert test["predicted"]["hdi_lower"] < test["predicted"]["mean"] < 0
    assert "calibration tv_geo_holdout_2023: measured lift -110,000 +- 25,000" in run.stdout
    assert run.json("model_metadata.json")["backend_details"]["path"] == "pymc-graph"
    assert "tv_geo_holdout_2023" in (run.run_dir / "report.html").read_text()
