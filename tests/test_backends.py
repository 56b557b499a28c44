"""Sampler backends: every backend agrees on the posterior of a structure, deterministically."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from omegaconf import OmegaConf

from mmm_runner.config.schema import ModelConfig, SamplerConfig
from mmm_runner.features.build import build_features
from mmm_runner.inference.fit import fit
from mmm_runner.model.fixed import FIXED
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


VARS = ["beta", "gamma", "intercept", "sigma"]
BACKENDS = ["nutpie", "pymc"] + (["numpyro"] if importlib.util.find_spec("numpyro") else [])


@pytest.fixture(scope="module")
def posteriors(features) -> dict:
    out = {}
    for backend in BACKENDS:
        sampler = OmegaConf.structured(
            SamplerConfig(draws=400, tune=400, chains=2, backend=backend, random_seed=3)
        )
        result = fit(FIXED, features, model_config(), sampler)
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
    first = fit(FIXED, features, model_config(), sampler).idata.posterior["beta"].values
    second = fit(FIXED, features, model_config(), sampler).idata.posterior["beta"].values
    np.testing.assert_array_equal(first, second)


def test_missing_optional_backend_is_a_clear_error(monkeypatch) -> None:
    from mmm_runner.errors import ConfigError
    from mmm_runner.inference import result

    monkeypatch.setattr(result.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ConfigError, match=r'needs the .numpyro. package: pip install -e ".\[jax\]"'
    ):
        result.require("numpyro", "jax", "numpyro")


def test_auto_mass_matrix_is_the_structures_choice() -> None:
    """Low-rank once an entity hierarchy has a centred channel; an explicit choice always wins."""
    from mmm_runner.inference.nutpie_backend import mass_matrix_settings
    from mmm_runner.model.entity import EntityStructure
    from mmm_runner.model.learned import MediaRecipe

    recipe = MediaRecipe("hill", 13, 0.5, 1.0, False)
    centred = EntityStructure(recipe, additive=False, controls_by_entity=False, centred=True)
    deviations = EntityStructure(recipe, additive=False, controls_by_entity=False, centred=False)
    mixed = EntityStructure(recipe, additive=False, controls_by_entity=False, centred=(True, False))
    assert mass_matrix_settings("auto", FIXED) == {
        "mass_matrix": "diag",
        "use_grad_based_mass_matrix": False,
    }
    assert mass_matrix_settings("auto", centred) == {
        "mass_matrix": "low_rank",
        "low_rank_modified_mass_matrix": True,
    }
    assert mass_matrix_settings("auto", deviations)["mass_matrix"] == "diag"
    assert mass_matrix_settings("auto", mixed)["mass_matrix"] == "low_rank"
    assert mass_matrix_settings("diag", centred)["mass_matrix"] == "diag"
    assert mass_matrix_settings("low_rank", FIXED)["mass_matrix"] == "low_rank"


@pytest.mark.slow
def test_sampler_mass_matrix_reaches_nutpie(features) -> None:
    """The brand model (a dozen parameters) samples with `diag` under auto; `low_rank` if asked."""
    runs = {}
    for choice in ("auto", "low_rank"):
        sampler = OmegaConf.structured(
            SamplerConfig(draws=100, tune=100, chains=2, random_seed=9, mass_matrix=choice)
        )
        runs[choice] = fit(FIXED, features, model_config(), sampler)
    assert runs["auto"].details["mass_matrix"] == "diag"
    assert runs["low_rank"].details["mass_matrix"] == "low_rank"
    auto, low_rank = (runs[c].idata.posterior["beta"].values for c in ("auto", "low_rank"))
    assert auto.shape == low_rank.shape and not np.array_equal(auto, low_rank)
