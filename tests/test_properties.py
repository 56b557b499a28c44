"""Property-based tests: transforms keep their invariants; random valid CSVs always pass; the
validation screen agrees with the full row-level checks on clean and damaged files."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
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


def _damage(panel: pd.DataFrame, kind: str, row: int) -> pd.DataFrame:
    """One kind of damage a row-level check must catch (or, for the last two, must not)."""
    panel = panel.astype({"sales": object, "act_a": object}).reset_index(drop=True)
    row %= len(panel)
    weeks = sorted(panel["period_start"].unique())
    if kind == "blank_cell":
        panel.loc[row, "act_a"] = ""
    elif kind == "text_cell":
        panel.loc[row, "sales"] = "1,234"
    elif kind == "nan_cell":
        panel.loc[row, "act_a"] = "nan"
    elif kind == "negative_target":
        panel.loc[row, "sales"] = -1.0
    elif kind == "duplicate_row":
        panel = pd.concat([panel, panel.iloc[[row]]])
    elif kind == "entity_gap":
        entity = panel.loc[row, "entity_id"]
        panel = panel[~((panel["entity_id"] == entity) & (panel["period_start"] == weeks[5]))]
    elif kind == "shifted_date":
        panel.loc[row, "period_start"] = (
            pd.Timestamp(panel.loc[row, "period_start"]) + pd.Timedelta(days=1)
        ).strftime("%Y-%m-%d")
    elif kind == "bad_date":
        panel.loc[row, "period_start"] = "2021-02-30"
    elif kind in ("blank_entity", "blank_date"):  # on an entity's last week: no gap behind
        last = (panel["entity_id"] == panel.loc[row, "entity_id"]) & (
            panel["period_start"] == weeks[-1]
        )
        panel.loc[last, "entity_id" if kind == "blank_entity" else "period_start"] = ""
    elif kind == "late_entity":  # clean, but unbalanced: a warning, decided without row detail
        panel = panel[~((panel["entity_id"] == "e0") & (panel["period_start"] < weeks[3]))]
    elif kind == "monthly":  # clean: the same panel on month starts
        months = pd.date_range("2019-01-01", periods=len(weeks), freq="MS").strftime("%Y-%m-%d")
        panel["period_start"] = panel["period_start"].map(dict(zip(weeks, months, strict=True)))
    elif kind == "negative_control":  # clean: controls may be negative
        panel.loc[row, "ctrl_c"] = -abs(float(panel.loc[row, "ctrl_c"])) - 1
    return panel


def _comparable(summary: dict) -> dict:
    """The summary minus the fields that say which layer decided."""
    checks = [{k: v for k, v in c.items() if k != "decided_by"} for c in summary["checks"]]
    screen = {k: v for k, v in summary["screen"].items() if k != "row_level_checks_run"}
    return {**summary, "checks": checks, "screen": screen}


DAMAGE = ["none", "blank_cell", "text_cell", "nan_cell", "negative_target", "duplicate_row",
          "entity_gap", "shifted_date", "bad_date", "blank_entity", "blank_date", "late_entity",
          "monthly", "negative_control"]  # fmt: skip
CLEAN_DAMAGE = {"none", "late_entity", "monthly", "negative_control"}


@pytest.mark.parametrize("kind", DAMAGE)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panel=valid_panels(), row=st.integers(0, 10_000))
def test_screen_agrees_with_row_level_checks(kind: str, panel: pd.DataFrame, row: int) -> None:
    """The screen may skip the row-level checks only when they would find nothing; with or
    without it, every check, count, message, axis field and canonical value is the same."""
    damaged = _damage(panel, kind, row)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "panel.csv"
        damaged.to_csv(path, index=False, float_format="%.17g")
        screened, canonical, _ = run_data_layer(path, drivers=[], controls=[])
        full, full_canonical, _ = run_data_layer(path, full=True, drivers=[], controls=[])
    assert screened.summary["screen"]["clean"] is (kind in CLEAN_DAMAGE)
    assert screened.summary["screen"]["row_level_checks_run"] is (kind not in CLEAN_DAMAGE)
    assert _comparable(screened.summary) == _comparable(full.summary)
    assert bool(screened.errors) is (kind not in CLEAN_DAMAGE), screened.summary["errors"]
    if canonical is not None:
        pd.testing.assert_frame_equal(canonical, full_canonical, check_exact=True)
