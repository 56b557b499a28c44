"""The fixed structure: its native density, its equations and its PyMC graph agree."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from mmm_runner.config.schema import ModelConfig
from mmm_runner.model import fixed_native
from mmm_runner.model.fixed import FIXED
from mmm_runner.model.native_support import expand
from mmm_runner.model.parameters import Draws
from mmm_runner.model.priors import native_priors
from tests.test_backends import features  # noqa: F401  (module fixture: the sample's features)

VARIANTS = [
    {},
    {"beta_parametrization": "non_centered"},
    {"likelihood": "Normal"},
    {"intercept.params.sigma": 3.0, "gamma.params.mu": 0.1, "nu.params.lam": 0.05},
]
IDS = ["default", "non_centered", "normal", "other_scales"]


def model_config(**overrides) -> ModelConfig:
    cfg = OmegaConf.structured(ModelConfig)
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value)
    return cfg  # type: ignore[return-value]


def random_points(model, n: int, seed: int = 1):
    """(unconstrained vector, PyMC point) pairs in the model's value-variable order."""
    names = [v.name for v in model.value_vars]
    shapes = [model.initial_point()[n].shape for n in names]
    sizes = [int(np.prod(s)) or 1 for s in shapes]
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = rng.normal(0, 0.7, sum(sizes))
        point, start = {}, 0
        for name, size, shape in zip(names, sizes, shapes, strict=True):
            point[name] = x[start : start + size].reshape(shape)
            start += size
        yield x, point


def constrained_values(structure, cfg, density, x: np.ndarray) -> dict:
    """Parameter values (derived ones included) at the unconstrained point x."""
    constrained = np.empty_like(x)
    expand(x, constrained, density.data)
    values, start = {}, 0
    for name, shape in density.layout:
        size = int(np.prod(shape)) if shape else 1
        values[name] = constrained[start : start + size].reshape(shape)
        start += size
    return {**values, **structure.derived_draws(values, cfg)}


@pytest.mark.parametrize("overrides", VARIANTS, ids=IDS)
def test_native_logp_and_gradient_equal_the_pymc_graph(features, overrides) -> None:  # noqa: F811
    cfg = model_config(**overrides)
    model = FIXED.build_pymc(features, cfg)
    logp_fn, dlogp_fn = model.compile_logp(), model.compile_dlogp()
    density = FIXED.native(features, cfg)
    assert density is not None
    assert [name for name, _ in density.layout] == [p.name for p in FIXED.parameters(cfg)]
    for x, point in random_points(model, 5):
        grad = np.zeros_like(x)
        value = fixed_native.logp_and_grad(x, grad, density.data)
        assert value == pytest.approx(float(logp_fn(point)), rel=1e-10)
        np.testing.assert_allclose(grad, dlogp_fn(point), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("overrides", VARIANTS, ids=IDS)
def test_per_draw_log_likelihood_equals_the_pymc_graph(features, overrides) -> None:  # noqa: F811
    """The numpy equations (predictions, LOO) and the graph are one model."""
    cfg = model_config(**overrides)
    model = FIXED.build_pymc(features, cfg)
    obs_logp = model.compile_fn(
        model.logp(vars=model.observed_RVs, sum=False)[0],
        inputs=model.value_vars,
        on_unused_input="ignore",
    )
    density = FIXED.native(features, cfg)
    for x, point in random_points(model, 3, seed=7):
        draws = Draws.single(constrained_values(FIXED, cfg, density, x))
        ours = FIXED.log_likelihood(draws, features)[0] - FIXED.log_jacobian(features)
        np.testing.assert_allclose(ours, obs_logp(point), rtol=1e-9, atol=1e-9)


def test_non_centered_beta_is_derived(features) -> None:  # noqa: F811
    cfg = model_config(beta_parametrization="non_centered")
    assert [p.name for p in FIXED.parameters(cfg)][:3] == ["intercept", "sigma_beta", "beta_raw"]
    derived = FIXED.derived_draws({"sigma_beta": np.array([2.0]), "beta_raw": np.ones((1, 3))}, cfg)
    np.testing.assert_array_equal(derived["beta"], np.full((1, 3), 2.0))


def test_native_covers_defaults_and_declines_other_families() -> None:
    cfg = model_config()
    assert native_priors(cfg, FIXED.parameters(cfg)) is not None
    other = model_config(**{"sigma.dist": "HalfCauchy", "sigma.params": {"beta": 1.0}})
    assert native_priors(other, FIXED.parameters(other)) is None


def test_digamma_matches_scipy() -> None:
    from scipy.special import digamma as scipy_digamma

    from mmm_runner.model.native_terms import digamma

    for x in (0.05, 0.5, 1.0, 3.3, 6.0, 17.2, 250.0):
        assert digamma(x) == pytest.approx(float(scipy_digamma(x)), rel=1e-10, abs=1e-12)


def test_parameter_count_matches_the_graph(features) -> None:  # noqa: F811
    cfg = model_config()
    model = FIXED.build_pymc(features, cfg)
    n_free = sum(value.size for value in model.initial_point().values())
    assert FIXED.parameter_count(cfg, FIXED.dim_sizes(features)) == n_free
