"""Sampler backends: the native density equals PyMC's, and every backend agrees on the posterior."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from omegaconf import OmegaConf

from mmm_runner.config.schema import ModelConfig, SamplerConfig
from mmm_runner.features.build import build_features
from mmm_runner.model import native
from mmm_runner.model.backends import fit, native_data, native_priors
from mmm_runner.model.mmm import build_model
from mmm_runner.simulate import CHANNELS, simulate, true_feature_config


@pytest.fixture(scope="module")
def features():
    panel, _ = simulate()
    panel["period_start"] = panel["period_start"].astype("datetime64[ns]")
    cols = ["sales", *CHANNELS, "ctrl_price"]
    brand = panel.groupby("period_start", as_index=False)[cols].agg(
        {**{c: "sum" for c in cols[:-1]}, "ctrl_price": "mean"}
    )
    return build_features(brand, "sales", CHANNELS, ["ctrl_price"], true_feature_config(), "WEEK")


def model_config(**overrides) -> object:
    cfg = OmegaConf.structured(ModelConfig)
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value)
    return cfg


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"beta_parametrization": "non_centered"},
        {"likelihood": "Normal"},
        {"intercept.params.sigma": 3.0, "gamma.params.mu": 0.1, "nu.params.lam": 0.05},
    ],
    ids=["default", "non_centered", "normal", "other_scales"],
)
def test_native_logp_and_gradient_equal_pymc(features, overrides) -> None:
    cfg = model_config(**overrides)
    model = build_model(features, cfg)
    logp_fn = model.compile_logp()
    dlogp_fn = model.compile_dlogp()
    data = native_data(features, cfg, native_priors(cfg))
    names = [v.name for v in model.value_vars]
    sizes = [int(np.prod(model.initial_point()[n].shape)) or 1 for n in names]
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.normal(0, 0.7, sum(sizes))
        point, start = {}, 0
        for name, size in zip(names, sizes, strict=True):
            point[name] = x[start : start + size].reshape(model.initial_point()[name].shape)
            start += size
        grad = np.zeros_like(x)
        value = native.logp_and_grad(x, grad, data)
        assert value == pytest.approx(float(logp_fn(point)), rel=1e-10)
        np.testing.assert_allclose(grad, dlogp_fn(point), rtol=1e-8, atol=1e-8)


def test_native_covers_defaults_and_declines_other_families() -> None:
    assert native_priors(model_config()) is not None
    assert (
        native_priors(model_config(**{"sigma.dist": "HalfCauchy", "sigma.params": {"beta": 1.0}}))
        is None
    )


def test_digamma_matches_scipy() -> None:
    from scipy.special import digamma

    for x in (0.05, 0.5, 1.0, 3.3, 6.0, 17.2, 250.0):
        assert native.digamma(x) == pytest.approx(float(digamma(x)), rel=1e-10, abs=1e-12)


VARS = ["beta", "gamma", "intercept", "sigma"]
BACKENDS = ["nutpie", "pymc"] + (["numpyro"] if importlib.util.find_spec("numpyro") else [])


@pytest.fixture(scope="module")
def posteriors(features) -> dict:
    out = {}
    for backend in BACKENDS:
        sampler = OmegaConf.structured(
            SamplerConfig(draws=400, tune=400, chains=2, backend=backend, random_seed=3)
        )
        result = fit(features, model_config(), sampler)
        out[backend] = result.idata
    return out


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_within_monte_carlo_error(posteriors, backend) -> None:
    import arviz as az

    reference = az.summary(posteriors["pymc"], var_names=VARS, round_to="none")
    other = az.summary(posteriors[backend], var_names=VARS, round_to="none")
    mcse = np.sqrt(reference["mcse_mean"] ** 2 + other["mcse_mean"] ** 2)
    gap = (reference["mean"] - other["mean"]).abs()
    assert (gap <= 4 * mcse + 1e-3).all(), (backend, gap[gap > 4 * mcse + 1e-3])
    idata = posteriors[backend]
    assert idata.log_likelihood["obs"].shape == (
        2,
        400,
        len(posteriors["pymc"].observed_data["obs"]),
    )
    assert {"beta", "gamma", "sigma_beta", "sigma", "nu", "intercept"} <= set(idata.posterior)


@pytest.mark.slow
def test_nutpie_is_deterministic_for_a_seed(features) -> None:
    sampler = OmegaConf.structured(SamplerConfig(draws=100, tune=100, chains=2, random_seed=9))
    first = fit(features, model_config(), sampler).idata.posterior["beta"].values
    second = fit(features, model_config(), sampler).idata.posterior["beta"].values
    np.testing.assert_array_equal(first, second)


def test_missing_optional_backend_is_a_clear_error(monkeypatch) -> None:
    from mmm_runner.errors import ConfigError
    from mmm_runner.model import backends

    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ConfigError, match=r'needs the .numpyro. package: pip install -e ".\[jax\]"'
    ):
        backends.require("numpyro", "jax", "numpyro")
