"""model.level=entity: the graph and the numpy equations agree, outputs add up, brand unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mmm_runner.config.schema import FeaturesConfig, ModelConfig
from mmm_runner.errors import ConfigError
from mmm_runner.model import structure_for
from mmm_runner.model.entity import EntityStructure
from mmm_runner.model.learned import LearnedStructure
from mmm_runner.model.parameters import Draws
from mmm_runner.synthetic_entity import EntitySpec, panel_features, simulate_entities

SPEC = EntitySpec(n_entities=4, n_channels=3, weeks=60, seed=5)
VARIANTS = {
    "learned": ("learned", {}, False),
    "shared_controls_normal": ("learned", {"likelihood": "Normal"}, False),
    "controls_by_entity": ("learned", {"controls_by_entity": True}, False),
    "non_centered": ("learned", {"beta_parametrization": "non_centered"}, False),
    "non_centred_effects": ("learned", {"entity_parametrization": "non_centered"}, False),
    "mixed_effects": (  # what `auto` resolves to: a form per channel
        "learned",
        {"entity_centred": {"act_ch1": True, "act_ch2": False, "act_ch3": True}},
        False,
    ),
    "additive": ("additive", {"intercept.params.mu": 1.0}, False),
    "population": ("learned", {}, True),
    "additive_population": ("additive", {}, True),
}


def configs(structure: str, model: dict) -> tuple[ModelConfig, FeaturesConfig]:
    model_cfg = OmegaConf.structured(ModelConfig)
    OmegaConf.update(model_cfg, "structure", structure)
    OmegaConf.update(model_cfg, "level", "entity")
    OmegaConf.update(model_cfg, "sigma_beta.params", {"sigma": 0.05})
    for key, value in model.items():
        OmegaConf.update(model_cfg, key, value)
    return model_cfg, OmegaConf.structured(FeaturesConfig)  # type: ignore[return-value]


def panel(population: bool):
    spec = EntitySpec(**{**SPEC.__dict__, "population": population})
    frame, truth = simulate_entities(spec)
    features, _ = panel_features(frame, spec, truth["channels"])
    return features, truth


def graph_values(model, point: dict) -> dict:
    """Every free and deterministic variable, constrained, at a PyMC point."""
    outputs = model.unobserved_value_vars  # constrained values and deterministics
    fn = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")
    return dict(zip([v.name for v in outputs], fn(point), strict=True))


def random_point(model, rng: np.random.Generator) -> dict:
    start = model.initial_point()
    return {k: v + rng.normal(0.0, 0.5, np.shape(v)) for k, v in start.items()}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_graph_log_likelihood_equals_the_numpy_equations(variant: str) -> None:
    name, overrides, population = VARIANTS[variant]
    model_cfg, features_cfg = configs(name, overrides)
    structure = structure_for(model_cfg, features_cfg)
    assert isinstance(structure, EntityStructure)
    features, _ = panel(population)
    model = structure.build_pymc(features, model_cfg)
    obs_logp = model.compile_fn(
        model.logp(vars=model.observed_RVs, sum=False)[0],
        inputs=model.value_vars,
        on_unused_input="ignore",
    )
    jacobian = structure.log_jacobian(features).ravel()
    rng = np.random.default_rng(0)
    for _ in range(3):
        point = random_point(model, rng)
        values = graph_values(model, point)
        ours = structure.log_likelihood(Draws.single(values), features)[0] - jacobian
        np.testing.assert_allclose(ours, np.ravel(obs_logp(point)), rtol=1e-9, atol=1e-9)
        # derived beta_entity: the graph's equals the numpy derive
        arrays = {k: np.asarray(v)[None] for k, v in values.items() if k != "beta_entity"}
        derived = structure.derived_draws(arrays, model_cfg)["beta_entity"][0]
        np.testing.assert_allclose(derived, values["beta_entity"], rtol=1e-12)


@pytest.mark.parametrize("variant", ["learned", "additive", "population"])
def test_decomposition_adds_up_per_entity_and_at_brand_level(variant: str) -> None:
    name, overrides, population = VARIANTS[variant]
    model_cfg, features_cfg = configs(name, overrides)
    structure = structure_for(model_cfg, features_cfg)
    features, _ = panel(population)
    draws = Draws(structure.prior_draws(model_cfg, features, 8, seed=1), 8)
    draws.values.update(structure.derived_draws(draws.values, model_cfg))
    parts = structure.predict_entities(draws, features)
    assert parts.fitted.shape == (8, 4, 60)
    np.testing.assert_allclose(
        parts.baseline + parts.contributions.sum(-1), parts.fitted, rtol=1e-10
    )
    brand = structure.predict(draws, features)
    np.testing.assert_allclose(brand.fitted, parts.fitted.sum(1), rtol=1e-12)
    np.testing.assert_allclose(brand.baseline + brand.contributions.sum(-1), brand.fitted)
    np.testing.assert_allclose(structure.fitted_level(draws, features), brand.fitted)
    # the model scale maps back to the observed target
    observed = structure.observed(features)
    back = structure.to_original(observed, features)
    np.testing.assert_allclose(back, features.panel.target, rtol=1e-9)


def test_truth_is_reproduced_by_the_fitted_structure() -> None:
    """The simulator's truth, pushed through the structure a fit uses, gives its ROAS."""
    features, truth = panel(False)
    model_cfg, features_cfg = configs("learned", {})
    structure = structure_for(model_cfg, features_cfg)
    params = {k: np.asarray(v) for k, v in truth["parameters"].items()}
    parts = structure.predict(Draws.single(params), features)
    spend = features.panel.spend.sum(axis=(0, 1))
    roas = parts.contributions[0].sum(0) / spend
    np.testing.assert_allclose(roas, list(truth["roas"].values()), rtol=1e-9)


def test_response_reproduces_the_brand_total() -> None:
    """The brand-total response (sum of entity responses) at 1x against the structure's own
    equations: removing a channel drops its term from every entity's mu."""
    from mmm_runner.analysis.entity import entity_tables
    from mmm_runner.analysis.response import media_response

    features, _ = panel(True)
    model_cfg, features_cfg = configs("learned", {})
    structure = structure_for(model_cfg, features_cfg)
    draws = Draws(structure.prior_draws(model_cfg, features, 6, seed=2), 6)
    draws.values.update(structure.derived_draws(draws.values, model_cfg))
    response = media_response(structure, draws, features, features_cfg)
    data = structure.model_data(features)
    mu = structure.mean(draws.values, data, np)
    terms = structure.channel_terms(draws.values, data, np)
    n_c = len(features.channel_names)
    for c in range(n_c):
        removal = response.channel_curve(c, np.array([0.0, 1.0]))[:, 1]
        lost = structure.to_original(mu, features) - structure.to_original(
            mu - terms[..., c], features
        )
        np.testing.assert_allclose(removal, lost.sum(axis=(1, 2)), rtol=1e-9)
    total, grad = response.total_and_grad(np.ones(n_c))
    step = 1e-6
    bumped = response.total(np.ones(n_c) + step * np.eye(n_c)[0])
    np.testing.assert_allclose((bumped - total) / step, grad[:, 0], rtol=1e-4)
    roi, contributions = entity_tables(structure, draws, features)
    assert len(roi) == 4 * n_c and len(contributions) == 4 * 60
    assert set(roi.columns) >= {"entity_id", "channel", "spend", "roas_mean", "roas_hdi_lower"}


def test_entity_level_needs_a_learned_structure_and_a_full_panel() -> None:
    model_cfg, features_cfg = configs("learned", {})
    OmegaConf.update(model_cfg, "structure", "fixed")
    with pytest.raises(ConfigError, match=r"model\.level=entity"):
        structure_for(model_cfg, features_cfg)
    frame, truth = simulate_entities(SPEC)
    gappy = frame.drop(index=[3, 4])
    with pytest.raises(ConfigError, match="every entity in every period"):
        panel_features(gappy, SPEC, truth["channels"])


def test_brand_level_is_the_default_and_unchanged() -> None:
    model_cfg = OmegaConf.structured(ModelConfig)
    OmegaConf.update(model_cfg, "structure", "learned")
    structure = structure_for(model_cfg, OmegaConf.structured(FeaturesConfig))
    assert type(structure) is LearnedStructure
    assert str(model_cfg.level.value) == "brand"


def test_entity_mart_keeps_entity_by_period(tmp_path) -> None:
    from mmm_runner.data.canonicalize import canonicalize, entity_panel
    from mmm_runner.data.sql import SqlSession
    from mmm_runner.data.validate import validate

    spec = EntitySpec(n_entities=3, n_channels=2, weeks=40, population=True, seed=2)
    frame, _ = simulate_entities(spec)
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    dataset = OmegaConf.create(
        {"name": "x", "path": str(path), "grain": "auto", "target_col": "sales", "drivers": [],
         "controls": [], "date_format": "%Y-%m-%d", "holdout_periods": 0,
         "population_col": "population"}
    )  # fmt: skip
    session = SqlSession()
    report = validate(session, path, dataset, lambda plan: 10)
    assert not report.errors, report.errors
    brand = canonicalize(session, report.plan)
    entity = entity_panel(session, report.plan)
    assert len(brand) == 40 and len(entity) == 120
    assert list(entity["entity_id"].unique()) == ["E00", "E01", "E02"]
    summed = entity.groupby("period_start")["sales"].sum().to_numpy()
    np.testing.assert_allclose(summed, brand["sales"].to_numpy(), rtol=1e-12)
    assert "population" in entity.columns
    pd.testing.assert_series_equal(
        entity["act_ch1"].reset_index(drop=True),
        frame.sort_values(["entity_id", "period_start"])["act_ch1"].reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
    )


NATIVE = {
    **{k: v for k, v in VARIANTS.items() if k != "non_centered"},
    "slope": ("learned", {"slope.learn": True}, False),
    "logistic": ("learned", {}, False),
}


@pytest.mark.parametrize("variant", list(NATIVE))
def test_native_logp_and_gradient_equal_the_pymc_graph(variant: str) -> None:
    from mmm_runner.model import entity_native

    name, overrides, population = NATIVE[variant]
    model_cfg, features_cfg = configs(name, overrides)
    if variant == "slope":
        OmegaConf.update(features_cfg, "saturation.S", 1.3)
    if variant == "logistic":
        OmegaConf.update(features_cfg, "saturation.type", "logistic")
    structure = structure_for(model_cfg, features_cfg)
    features, _ = panel(population)
    model = structure.build_pymc(features, model_cfg)
    logp_fn, dlogp_fn = model.compile_logp(), model.compile_dlogp()
    density = structure.native(features, model_cfg)
    assert density is not None
    assert [n for n, _ in density.layout] == [p.name for p in structure.parameters(model_cfg)]
    rng = np.random.default_rng(4)
    for _ in range(3):
        point = random_point(model, rng)
        x = np.concatenate([np.ravel(point[v.name]) for v in model.value_vars])
        grad = np.zeros_like(x)
        value = entity_native.logp_and_grad(x, grad, density.data)
        assert value == pytest.approx(float(logp_fn(point)), rel=1e-9)
        np.testing.assert_allclose(grad, dlogp_fn(point), rtol=1e-7, atol=1e-7)


def test_non_centred_beta_samples_the_graph() -> None:
    model_cfg, features_cfg = configs("learned", {"beta_parametrization": "non_centered"})
    features, _ = panel(False)
    assert structure_for(model_cfg, features_cfg).native(features, model_cfg) is None


def test_auto_parametrization_follows_how_well_each_entity_is_measured() -> None:
    """156 quiet weeks per entity pin most effects: centred; 50x the noise pins none."""
    from mmm_runner.model.entity import CENTRED_BELOW, choose_parametrization

    model_cfg, features_cfg = configs("learned", {})
    structure = structure_for(model_cfg, features_cfg)
    chosen = {}
    for noise in (0.02, 1.0):
        spec = EntitySpec(n_entities=8, n_channels=3, weeks=156, noise=noise, seed=3)
        frame, truth = simulate_entities(spec)
        features, _ = panel_features(frame, spec, truth["channels"])
        chosen[noise] = choose_parametrization(structure, features)
    (quiet, quiet_se), (noisy, noisy_se) = chosen[0.02], chosen[1.0]
    assert list(quiet) == truth["channels"] == list(noisy)
    assert quiet == {c: quiet_se[c] < CENTRED_BELOW for c in quiet}  # channel by channel
    assert sum(quiet.values()) >= 2 and not any(noisy.values())
    assert all(noisy_se[c] > 5 * quiet_se[c] for c in quiet)  # the error follows the noise


def test_a_run_config_with_the_wrong_channel_count_fails_clearly() -> None:
    model_cfg, features_cfg = configs("learned", {"entity_centred": {"act_ch1": True}})
    structure = structure_for(model_cfg, features_cfg)
    features, _ = panel(False)
    with pytest.raises(ConfigError, match="entity_centred: 1 channels given, the data have 3"):
        structure.native(features, model_cfg)


@pytest.mark.slow
def test_entity_draws_are_the_draws_of_an_entity_run(tmp_path) -> None:
    """`sampler.entity_draws` replaces `sampler.draws` at model.level=entity, visibly: in the
    printed summary, the run spec every reader sees and the posterior itself."""
    from mmm_runner.store import Artifact, load_run
    from tests.conftest import run_cli

    panel, _ = simulate_entities(SPEC)
    csv = tmp_path / "panel.csv"
    panel.to_csv(csv, index=False)
    run = run_cli(
        tmp_path / "run",
        f"dataset.path={csv}", "dataset.grain=WEEK", "dataset.drivers=[]", "dataset.controls=[]",
        "model.level=entity", "sampler=fast", "sampler.draws=20", "sampler.entity_draws=30",
        "sampler.tune=30", "sampler.chains=2",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "model.level=entity: 30 draws per chain (sampler.entity_draws)" in run.stdout
    spec = run.json(Artifact.RUN_SPEC.filename)["sampler"]
    assert (spec["draws"], spec["entity_draws"]) == (30, 30)
    posterior = load_run(run.run_dir).posterior.posterior
    assert dict(posterior.sizes)["chain"] == 2 and dict(posterior.sizes)["draw"] == 30
