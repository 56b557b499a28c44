"""The SQL data layer: canonical data equals a pandas groupby; hostile names stay data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mmm_runner.config.schema import DatasetConfig, RunConfig
from mmm_runner.data.canonicalize import canonicalize
from mmm_runner.data.sql import SQL_DIR, SqlSession, check_files
from mmm_runner.data.validate import CHECK_ORDER, validate
from mmm_runner.model import periods_to_fit
from tests.conftest import SAMPLE_CSV


def config(path: Path, **dataset: object) -> object:
    return OmegaConf.structured(
        RunConfig(dataset=DatasetConfig(name="t", path=str(path), **dataset))
    )


def run_data_layer(path: Path, *, full: bool = False, **dataset: object):
    cfg = config(path, **dataset)
    session = SqlSession()
    report = validate(
        session, path, cfg.dataset, periods_to_fit(cfg.model, cfg.features), full=full
    )
    canonical = canonicalize(session, report.plan) if not report.errors else None
    return report, canonical, session


def test_canonical_data_equals_pandas_groupby() -> None:
    report, canonical, _ = run_data_layer(SAMPLE_CSV)
    assert not report.errors
    raw = pd.read_csv(SAMPLE_CSV, parse_dates=["period_start"])
    sums = raw.groupby("period_start")[
        ["sales", "act_tv", "act_digital", "act_radio", "spend_tv", "spend_digital", "spend_radio"]
    ].sum()
    means = raw.groupby("period_start")[["ctrl_price"]].mean()
    expected = sums.join(means).reset_index()
    assert list(canonical["period_start"]) == list(expected["period_start"])
    for column in expected.columns.drop("period_start"):
        np.testing.assert_allclose(canonical[column], expected[column], rtol=1e-9, atol=0)
    assert report.grain == "WEEK"
    assert report.summary["n_periods"] == 156
    assert report.summary["n_entities"] == 4


def test_summary_lists_every_check_and_missingness() -> None:
    report, _, _ = run_data_layer(SAMPLE_CSV)
    names = {c["name"] for c in report.summary["checks"]}
    assert {"missing_values", "duplicate_rows", "negative_values", "irregular_periods"} <= names
    assert all(c["passed"] for c in report.summary["checks"])
    assert report.summary["missingness"]["sales"] == {"n_rows": 624, "n_missing": 0}
    assert report.summary["date_range"] == {"first": "2022-01-03", "last": "2024-12-23"}


def test_every_check_file_is_run() -> None:
    """A new sql/validation/check_*.sql must be added to CHECK_ORDER, or it would never run."""
    assert sorted(f.name for f in check_files()) == sorted(CHECK_ORDER)
    for sql in check_files():
        assert {"check", "severity", "level", "description"} <= set(sql.meta), sql.path
        assert sql.meta["level"] in ("row", "summary"), sql.path


HOSTILE = 'act_x"; DROP TABLE raw_input; --'


@pytest.mark.parametrize("full", [False, True], ids=["screened", "row_level"])
def test_hostile_column_name_is_only_data(tmp_path: Path, full: bool) -> None:
    frame = pd.read_csv(SAMPLE_CSV)
    frame[HOSTILE] = frame["act_radio"]
    frame["ctrl_it's|x"] = frame["ctrl_price"]
    path = tmp_path / "hostile.csv"
    frame.to_csv(path, index=False)
    report, canonical, session = run_data_layer(
        path, full=full, drivers=["act_tv", HOSTILE], controls=["ctrl_it's|x"]
    )
    assert not report.errors, report.summary["errors"]
    expected = frame.groupby("period_start")[HOSTILE].sum().to_numpy()
    np.testing.assert_allclose(canonical[HOSTILE], expected, rtol=1e-9)
    profiled = {p["column_name"] for p in report.summary["column_profile"]}
    assert {HOSTILE, "ctrl_it's|x"} <= profiled
    tables = {r[0] for r in session.con.execute("SHOW TABLES").fetchall()}
    assert {"stg_typed", "canonical_data"} <= tables
    assert ("raw_input" in tables) == full  # a clean file is never held as text


def test_clean_file_is_decided_by_the_screen() -> None:
    report, _, _ = run_data_layer(SAMPLE_CSV)
    assert report.summary["screen"]["clean"] is True
    assert report.summary["screen"]["row_level_checks_run"] is False
    decided = {c["name"]: c["decided_by"] for c in report.summary["checks"]}
    assert decided["duplicate_rows"] == "sql/validation/screen.sql"
    assert decided["too_few_periods"] == "sql/validation/check_too_few_periods.sql"


def test_bad_cell_makes_the_screen_run_row_level_checks(tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLE_CSV, dtype=str)
    frame.loc[9, "act_tv"] = "12 units"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    report, _, _ = run_data_layer(path)
    screen = report.summary["screen"]
    assert screen["clean"] is False and screen["row_level_checks_run"] is True
    assert screen["findings"]["n_blank_or_text_cells"] == 1
    check = next(c for c in report.summary["checks"] if c["name"] == "non_numeric_values")
    assert check["examples"][0]["line"] == 11 and check["examples"][0]["value"] == "12 units"
    assert report.summary["missingness"]["act_tv"] == {"n_rows": 624, "n_missing": 0}
    profile = {p["column_name"]: p for p in report.summary["column_profile"]}
    assert profile["act_tv"]["n_non_numeric"] == 1 and profile["act_tv"]["n_numeric"] == 623


def test_sums_are_exact_and_independent_of_row_order(tmp_path: Path) -> None:
    """1e16 + 1 + 1 is 1e16 in float arithmetic but 1e16 + 2 exactly; any row order gives it."""
    rows = []
    for week in pd.date_range("2022-01-03", periods=40, freq="7D").strftime("%Y-%m-%d"):
        for entity, sales in (("a", 1e16), ("b", 1.0), ("c", 1.0)):
            n = len(rows)
            rows.append({"entity_id": entity, "period_start": week, "sales": sales,
                         "act_tv": 1.0 + n % 7, "ctrl_price": 0.1 * (n % 3)})  # fmt: skip
    frame = pd.DataFrame(rows)
    results = []
    for order, seed in (("file", None), ("shuffled", 3), ("reversed", None)):
        shuffled = frame.sample(frac=1.0, random_state=seed) if seed else frame
        shuffled = shuffled.iloc[::-1] if order == "reversed" else shuffled
        path = tmp_path / f"{order}.csv"
        shuffled.to_csv(path, index=False, float_format="%.17g")
        report, canonical, _ = run_data_layer(path, drivers=[], controls=[])
        assert not report.errors, report.summary["errors"]
        results.append(canonical)
    assert (results[0]["sales"] == 1e16 + 2).all()
    for other in results[1:]:
        pd.testing.assert_frame_equal(other, results[0], check_exact=True)


def test_monthly_data_is_detected(tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLE_CSV)
    frame = frame[frame["entity_id"] == "store_east"].head(48).copy()
    frame["period_start"] = pd.date_range("2020-01-01", periods=48, freq="MS").strftime("%Y-%m-%d")
    path = tmp_path / "monthly.csv"
    frame.to_csv(path, index=False)
    report, canonical, _ = run_data_layer(path, grain="auto")
    assert not report.errors, report.summary["errors"]
    assert report.grain == "MONTH"
    assert len(canonical) == 48


def test_config_grain_disagreeing_with_data_is_an_error() -> None:
    report, _, _ = run_data_layer(SAMPLE_CSV, grain="MONTH")
    assert any("data is WEEK but dataset.grain is MONTH" in e for e in report.summary["errors"])


def test_parquet_input_matches_csv(tmp_path: Path) -> None:
    path = tmp_path / "sample.parquet"
    pd.read_csv(SAMPLE_CSV).to_parquet(path, index=False)
    _, from_parquet, _ = run_data_layer(path)
    _, from_csv, _ = run_data_layer(SAMPLE_CSV)
    pd.testing.assert_frame_equal(from_parquet, from_csv, rtol=1e-12)


def test_spend_only_driver_pairs_with_itself(tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLE_CSV).drop(columns=["act_radio"])
    path = tmp_path / "spend_only.csv"
    frame.to_csv(path, index=False)
    report, canonical, _ = run_data_layer(path, drivers=[], controls=[])
    assert report.plan.drivers == ["act_tv", "act_digital", "spend_radio"]
    assert report.plan.spend_for["spend_radio"] == "spend_radio"
    assert report.plan.controls == ["ctrl_price"]
    assert "spend_radio" in canonical.columns


@pytest.mark.parametrize("sql_file", sorted(SQL_DIR.rglob("*.sql")), ids=lambda p: p.name)
def test_sql_files_bind_values_instead_of_formatting(sql_file: Path) -> None:
    """No Python/Jinja templating in SQL: values only arrive as $params."""
    text = sql_file.read_text()
    assert "{" not in text.replace("{}", "") and "%(" not in text
