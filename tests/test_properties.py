"""Property-based tests: transforms keep their invariants; random valid CSVs always pass."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmm_runner.features.transforms import Standardizer, geometric_adstock, hill_saturation
from tests.test_data_layer import run_data_layer

media = arrays(np.float64, st.integers(1, 60), elements=st.floats(0, 1e7))
decays = st.floats(0, 0.99)


@given(media, decays, st.integers(0, 20))
def test_adstock_is_causal_linear_and_bounded(x: np.ndarray, decay: float, lag: int) -> None:
    out = geometric_adstock(x, decay, lag)
    assert out.shape == x.shape
    assert (out >= x - 1e-9 * (1 + np.abs(x))).all()  # carry-over only adds
    # linear up to rounding (subnormal decays round differently at the last ulp)
    np.testing.assert_allclose(geometric_adstock(2 * x, decay, lag), 2 * out, rtol=1e-9, atol=1e-12)
    assert out.sum() <= x.sum() * sum(decay**k for k in range(lag + 1)) * (1 + 1e-9) + 1e-9
    if len(x) > 1:  # changing the last input never changes an earlier output
        later = x.copy()
        later[-1] += 1.0
        np.testing.assert_array_equal(geometric_adstock(later, decay, lag)[:-1], out[:-1])


@given(media, st.floats(0.05, 2.0), st.floats(0.3, 4.0))
def test_hill_is_monotone_and_in_unit_interval(x: np.ndarray, k: float, s: float) -> None:
    out = hill_saturation(x, k, s)
    assert ((out >= 0) & (out < 1)).all()
    order = np.argsort(x, kind="stable")
    assert (np.diff(out[order]) >= -1e-12).all()


@given(arrays(np.float64, st.integers(2, 80), elements=st.floats(-1e6, 1e6)))
def test_standardizer_gives_zero_mean_unit_sd(x: np.ndarray) -> None:
    scaler = Standardizer.fit(x)
    z = scaler.transform(x)
    assert np.isfinite(z).all()
    if x.std() > 1e-6 * (1 + np.abs(x).max()):
        assert abs(z.mean()) < 1e-6 and abs(z.std() - 1) < 1e-6


@st.composite
def valid_panels(draw: st.DrawFn) -> pd.DataFrame:
    n_entities = draw(st.integers(1, 3))
    n_periods = draw(st.integers(30, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2020-01-06") + pd.Timedelta(weeks=draw(st.integers(0, 200)))
    periods = pd.date_range(start, periods=n_periods, freq="7D").strftime("%Y-%m-%d")
    frames = []
    for e in range(n_entities):
        frames.append(
            pd.DataFrame(
                {
                    "entity_id": f"e{e}",
                    "period_start": periods,
                    "sales": rng.uniform(100, 1e6, n_periods),
                    "act_a": rng.uniform(0, 1e5, n_periods),
                    "spend_a": rng.uniform(0, 1e4, n_periods),
                    "ctrl_c": rng.normal(0, 1, n_periods),
                }
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    return panel.sample(frac=1.0, random_state=seed % 1000)  # any row order


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_panels())
def test_random_valid_csv_passes_and_aggregates_exactly(panel: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "panel.csv"
        panel.to_csv(path, index=False, float_format="%.17g")
        report, canonical, _ = run_data_layer(path, drivers=[], controls=[])
        raw = pd.read_csv(path, parse_dates=["period_start"])
    assert not report.errors, report.summary["errors"]
    grouped = raw.groupby("period_start")
    expected = grouped[["sales", "act_a", "spend_a"]].sum().join(grouped[["ctrl_c"]].mean())
    for column in expected.columns:
        np.testing.assert_allclose(canonical[column], expected[column], rtol=1e-9, atol=1e-9)
