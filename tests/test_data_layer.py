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
from tests.conftest import SAMPLE_CSV


def config(path: Path, **dataset: object) -> object:
    return OmegaConf.structured(
        RunConfig(dataset=DatasetConfig(name="t", path=str(path), **dataset))
    )


def run_data_layer(path: Path, **dataset: object):
    cfg = config(path, **dataset)
    session = SqlSession()
    report = validate(session, path, cfg.dataset, cfg.features)
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
        assert {"check", "severity", "description"} <= set(sql.meta), sql.path


HOSTILE = 'act_x"; DROP TABLE raw_input; --'


def test_hostile_column_name_is_only_data(tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLE_CSV)
    frame[HOSTILE] = frame["act_radio"]
    frame["ctrl_it's"] = frame["ctrl_price"]
    path = tmp_path / "hostile.csv"
    frame.to_csv(path, index=False)
    report, canonical, session = run_data_layer(
        path, drivers=["act_tv", HOSTILE], controls=["ctrl_it's"]
    )
    assert not report.errors, report.summary["errors"]
    expected = frame.groupby("period_start")[HOSTILE].sum().to_numpy()
    np.testing.assert_allclose(canonical[HOSTILE], expected, rtol=1e-9)
    assert "raw_input" in {r[0] for r in session.con.execute("SHOW TABLES").fetchall()}


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
