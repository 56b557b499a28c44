"""The learned and additive structures: native density, equations and PyMC graph agree."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from mmm_runner.config.schema import FeaturesConfig, ModelConfig
from mmm_runner.model import learned_native, structure_for
from mmm_runner.model.parameters import Draws
from tests.test_backends import features  # noqa: F401  (module fixture: the sample's features)
from tests.test_structure_fixed import constrained_values, random_points

VARIANTS = {
    "hill": ("learned", {}, {}),
    "non_centered": ("learned", {"beta_parametrization": "non_centered"}, {}),
    "normal": ("learned", {"likelihood": "Normal"}, {}),
    "slope": ("learned", {"slope.learn": True}, {}),
    "logistic": ("learned", {}, {"saturation.type": "logistic"}),
    "no_saturation": ("learned", {}, {"saturation.enabled": False, "adstock.max_lag": 4}),
    "additive": ("additive", {"intercept.params.mu": 1.0}, {}),
    "additive_logistic": ("additive", {}, {"saturation.type": "logistic"}),
}


def configs(structure: str, model: dict, feats: dict) -> tuple[ModelConfig, FeaturesConfig]:
    model_cfg = OmegaConf.structured(ModelConfig)
    features_cfg = OmegaConf.structured(FeaturesConfig)
    OmegaConf.update(model_cfg, "structure", structure)
    for key, value in model.items():
        OmegaConf.update(model_cfg, key, value)
    for key, value in feats.items():
        OmegaConf.update(features_cfg, key, value)
    return model_cfg, features_cfg  # type: ignore[return-value]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_native_logp_gradient_and_equations_equal_the_pymc_graph(features, variant) -> None:  # noqa: F811
    model_cfg, features_cfg = configs(*VARIANTS[variant])
    structure = structure_for(model_cfg, features_cfg)
    model = structure.build_pymc(features, model_cfg)
    logp_fn, dlogp_fn = model.compile_logp(), model.compile_dlogp()
    obs_logp = model.compile_fn(
        model.logp(vars=model.observed_RVs, sum=False)[0],
        inputs=model.value_vars,
        on_unused_input="ignore",
    )
    density = structure.native(features, model_cfg)
    assert density is not None
    assert [n for n, _ in density.layout] == [p.name for p in structure.parameters(model_cfg)]
    assert [v.name.split("_log__")[0].split("_logodds__")[0] for v in model.value_vars] == [
        p.name for p in structure.parameters(model_cfg)
    ]
    jacobian = structure.log_jacobian(features)
    for x, point in random_points(model, 4, seed=3):
        grad = np.zeros_like(x)
        value = learned_native.logp_and_grad(x, grad, density.data)
        assert value == pytest.approx(float(logp_fn(point)), rel=1e-9)
        np.testing.assert_allclose(grad, dlogp_fn(point), rtol=1e-7, atol=1e-7)
        # the numpy equations (predictions, LOO) give the graph's log-likelihood
        values = constrained_values(structure, model_cfg, density, x)
        ours = structure.log_likelihood(Draws.single(values), features)[0] - jacobian
        np.testing.assert_allclose(ours, obs_logp(point), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("variant", [*VARIANTS, "fixed"])
def test_one_evaluation_gives_mean_terms_and_decomposition(features, variant) -> None:  # noqa: F811
    """`evaluate` (one pass of the media block, shared by a run's outputs) is `mean` and
    `channel_terms` to the last bit, and `predict` from it is `predict`."""
    if variant == "fixed":
        model_cfg, features_cfg = configs("fixed", {}, {})
    else:
        model_cfg, features_cfg = configs(*VARIANTS[variant])
    structure = structure_for(model_cfg, features_cfg)
    draws = Draws(structure.prior_draws(model_cfg, features, 20, seed=4), 20)
    draws.values.update(structure.derived_draws(draws.values, model_cfg))
    data = structure.model_data(features)
    evaluation = structure.evaluate(draws, features)
    np.testing.assert_array_equal(evaluation.mu, structure.mean(draws.values, data, np))
    np.testing.assert_array_equal(evaluation.terms, structure.channel_terms(draws.values, data, np))
    ours, theirs = (
        structure.predict(draws, features, evaluation),
        structure.predict(draws, features),
    )
    for name in ("fitted", "baseline", "contributions"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name))
    np.testing.assert_array_equal(
        structure.fitted_level(draws, features), structure.brand_level(evaluation.mu, features)
    )


@pytest.mark.parametrize("n_channels", [3, 9])
def test_channel_major_decomposition_is_the_same_numbers(n_channels: int) -> None:
    """decompose(channel_axis=0) (the entity pass's layout) equals the channel-last one, bits
    included, below and above numpy's pairwise-summation threshold of 8 channels."""
    from mmm_runner.model.decomposition import decompose

    rng = np.random.default_rng(2)
    mu = rng.normal(0.0, 0.3, (50, 30))
    terms = rng.uniform(-0.01, 0.2, (50, 30, n_channels))
    last = decompose(mu, terms, 4.0)
    first = decompose(mu, np.ascontiguousarray(np.moveaxis(terms, -1, 0)), 4.0, channel_axis=0)
    np.testing.assert_array_equal(first.fitted, last.fitted)
    np.testing.assert_array_equal(first.baseline, last.baseline)
    np.testing.assert_array_equal(np.moveaxis(first.contributions, 0, -1), last.contributions)
