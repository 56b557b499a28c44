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
