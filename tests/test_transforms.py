"""Feature transforms and interval helpers against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from mmm_runner.analysis.intervals import hdi
from mmm_runner.features.transforms import (
    Standardizer,
    fourier_terms,
    geometric_adstock,
    hill_saturation,
    linear_trend,
)
from mmm_runner.model.decomposition import decompose


def test_adstock_matches_recursion_by_hand() -> None:
    # y0 = 10; y1 = 0 + .5*10 = 5; y2 = 4 + .5*5 = 6.5; y3 = 0 + .5*6.5 = 3.25
    out = geometric_adstock(np.array([10.0, 0.0, 4.0, 0.0]), decay=0.5, max_lag=13)
    np.testing.assert_allclose(out, [10.0, 5.0, 6.5, 3.25])


def test_adstock_truncates_at_max_lag() -> None:
    # An impulse echoes for max_lag periods, then stops: 1, .5, .25, then 0 with max_lag=2.
    out = geometric_adstock(np.array([1.0, 0, 0, 0, 0]), decay=0.5, max_lag=2)
    np.testing.assert_allclose(out, [1.0, 0.5, 0.25, 0.0, 0.0])


def test_adstock_zero_decay_is_identity_and_bad_decay_fails() -> None:
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_allclose(geometric_adstock(x, 0.0, 5), x)
    with pytest.raises(ValueError, match="decay"):
        geometric_adstock(x, 1.0, 5)


def test_hill_on_share_of_peak_by_hand() -> None:
    # peak 4 -> shares [0, .5, 1]; K=.5, S=1: [0, .5/(.5+.5), 1/(.5+1)] = [0, .5, 2/3]
    out = hill_saturation(np.array([0.0, 2.0, 4.0]), half_saturation=0.5, slope=1.0)
    np.testing.assert_allclose(out, [0.0, 0.5, 2.0 / 3.0])
    # S=2: share .5 -> .25 / (.25 + .25) = .5 (K is the half point whatever S); 1 -> 1/1.25
    out = hill_saturation(np.array([0.0, 2.0, 4.0]), half_saturation=0.5, slope=2.0)
    np.testing.assert_allclose(out, [0.0, 0.5, 0.8])
    np.testing.assert_allclose(hill_saturation(np.zeros(3), 0.5, 1.0), np.zeros(3))


def test_fourier_terms_by_hand() -> None:
    terms = fourier_terms(n_periods=4, period=4.0, harmonics=1)
    # t = 0..3 with period 4: sin = [0, 1, 0, -1], cos = [1, 0, -1, 0]
    np.testing.assert_allclose(terms, [[0, 1], [1, 0], [0, -1], [-1, 0]], atol=1e-12)
    assert fourier_terms(10, 52.1775, 3).shape == (10, 6)
    week = fourier_terms(53, 52.1775, 1)
    np.testing.assert_allclose(week[1, 0], np.sin(2 * np.pi / 52.1775))


def test_trend_scaled_to_unit_interval() -> None:
    np.testing.assert_allclose(linear_trend(5), [0, 0.25, 0.5, 0.75, 1.0])


def test_standardizer_by_hand() -> None:
    scaler = Standardizer.fit(np.array([1.0, 2.0, 3.0, 4.0]))
    assert scaler.mean == 2.5
    assert scaler.std == pytest.approx(np.sqrt(1.25))
    np.testing.assert_allclose(scaler.transform(np.array([2.5, 0.0])), [0.0, -2.5 / np.sqrt(1.25)])
    assert Standardizer.fit(np.array([7.0, 7.0])).std == 1.0  # constant: finite, not NaN


def test_decomposition_adds_up_and_splits_by_log_terms() -> None:
    mu = np.array([[0.2, 0.1]])  # one draw, two periods
    terms = np.array([[[0.1, 0.3], [0.0, 0.0]]])  # two channels
    parts = decompose(mu, terms, offset=np.log(100.0))
    fitted = np.expm1(mu + np.log(100.0))
    baseline = np.expm1(mu - terms.sum(-1) + np.log(100.0))
    np.testing.assert_allclose(parts.fitted, fitted)
    np.testing.assert_allclose(parts.baseline, baseline)
    incremental = fitted[0, 0] - baseline[0, 0]
    np.testing.assert_allclose(parts.contributions[0, 0], [incremental / 4, incremental * 3 / 4])
    np.testing.assert_allclose(parts.contributions[0, 1], [0.0, 0.0])
    np.testing.assert_allclose(parts.baseline + parts.contributions.sum(-1), parts.fitted)


def test_hdi_matches_arviz() -> None:
    import arviz as az

    rng = np.random.default_rng(0)
    samples = rng.gamma(2.0, size=(4000, 3))
    lower, upper = hdi(samples, 0.94)
    for j in range(3):
        expected = az.hdi(samples[:, j], hdi_prob=0.94)
        np.testing.assert_allclose([lower[j], upper[j]], expected)
