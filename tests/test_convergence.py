"""R-hat, ESS, MCSE, E-BFMI and PSIS-LOO, batched over elements, are arviz's to the last bit.

posterior_summary.json, diagnostics.json (the converged verdict) and loo.json come from
`analysis/convergence.py` and `analysis/psis.py`: each test compares them with arviz itself on
posteriors built to reach every path (autocorrelated and anticorrelated chains, ties, a constant
element, NaN, one chain, heavy-tailed log-likelihoods with failed Pareto fits).
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

from mmm_runner.analysis.convergence import bfmi
from mmm_runner.analysis.diagnostics import (
    element_diagnostics,
    loo_report,
    posterior_summary,
)
from mmm_runner.analysis.intervals import HDI_PROB


def ar1(rng: np.random.Generator, shape: tuple[int, ...], rho: float) -> np.ndarray:
    """Chains (chain, draw, ...) of an AR(1) process: rho > 0 autocorrelated, < 0 alternating."""
    out = np.empty(shape)
    out[:, 0] = rng.standard_normal((shape[0], *shape[2:]))
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + rng.standard_normal((shape[0], *shape[2:]))
    return out


def inference_data(seed: int, chains: int = 4, draws: int = 301) -> az.InferenceData:
    rng = np.random.default_rng(seed)
    shape = (chains, draws)
    posterior = {
        "scalar": ar1(rng, shape, 0.6),
        "vector": np.stack([ar1(rng, shape, r) for r in (0.0, 0.95, -0.4)], axis=-1),
        "matrix": ar1(rng, (*shape, 2, 3), 0.3) * 1e3 + 5.0,
        "ties": np.round(ar1(rng, shape, 0.5), 1),  # many equal draws: average ranks
        "skewed": np.exp(2.0 * ar1(rng, shape, 0.8)),
        "flat": np.full(shape, 1.25),  # a constant element: arviz's own path
        "repeats": np.repeat(ar1(rng, (chains, (draws + 2) // 3), 0.2), 3, axis=1)[:, :draws],
    }
    n_obs = 40
    mu = posterior["scalar"][..., None] * 0.1
    y = rng.standard_normal(n_obs)
    y[:3] = [8.0, -9.0, 12.0]  # outliers: heavy right tails of the importance ratios
    log_lik = -0.5 * (y - mu) ** 2 / 0.5**2
    log_lik[:, ::7, 5] = log_lik[:, 0:1, 5]  # repeated draws: ties in the tail
    log_lik[..., 6] = -1.0  # every draw alike: no tail to fit (arviz's own path)
    log_lik[..., 7] = np.round(log_lik[..., 7], 1)  # ties at the tail's cutoff (the same)
    energy = ar1(rng, shape, 0.3) + 10.0
    return az.from_dict(
        posterior=posterior,
        log_likelihood={"obs": log_lik},
        sample_stats={"energy": energy},
        coords={"c": ["a", "b", "c"], "i": [0, 1], "j": ["x", "y", "z"]},
        dims={"vector": ["c"], "matrix": ["i", "j"]},
    )


def arviz_summary(idata: az.InferenceData, names: list[str]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.summary(idata, var_names=names, hdi_prob=HDI_PROB, round_to="none")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summary_is_arviz_summary(seed: int) -> None:
    idata = inference_data(seed)
    names = list(idata.posterior.data_vars)
    ours = posterior_summary(idata, names, element_diagnostics(idata))
    pd.testing.assert_frame_equal(ours, arviz_summary(idata, names), check_exact=True)
    # a subset, in another order, without a shared computation
    subset = ["vector", "scalar"]
    pd.testing.assert_frame_equal(
        posterior_summary(idata, subset), arviz_summary(idata, subset), check_exact=True
    )


def test_summary_off_the_common_path_is_arviz_summary() -> None:
    one_chain = inference_data(3, chains=1)
    names = list(one_chain.posterior.data_vars)
    pd.testing.assert_frame_equal(
        posterior_summary(one_chain, names), arviz_summary(one_chain, names), check_exact=True
    )
    with_nan = inference_data(4)
    with_nan.posterior["scalar"][1, 7] = np.nan
    names = ["scalar", "vector"]
    pd.testing.assert_frame_equal(
        posterior_summary(with_nan, names), arviz_summary(with_nan, names), check_exact=True
    )


@pytest.mark.parametrize("seed", [0, 5])
def test_loo_is_arviz_loo(seed: int) -> None:
    idata = inference_data(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = az.loo(idata, pointwise=True)
    ours = loo_report(idata, element_diagnostics(idata))
    for key in ("elpd_loo", "se", "p_loo", "n_samples"):
        assert ours[key] == expected[key], key
    np.testing.assert_array_equal(ours["pareto_k"], np.asarray(expected.pareto_k).ravel())
    np.testing.assert_array_equal(ours["loo_i"], np.asarray(expected.loo_i).ravel())
    assert max(ours["pareto_k"]) > 0.7  # the outliers took the high-k (and fallback) paths
    assert loo_report(idata) == ours  # without the shared R-hat/ESS computation


def test_bfmi_is_arviz_bfmi() -> None:
    idata = inference_data(6)
    energy = idata.sample_stats["energy"].transpose("chain", "draw")
    np.testing.assert_array_equal(bfmi(energy), az.bfmi(idata))
