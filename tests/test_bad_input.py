"""Bad input: non-zero exit, one line naming file, column and problem, ERROR status,
validation_summary.json written, and no canonical or later artifacts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import LATER_ARTIFACTS, run_cli

Mutation = Callable[[pd.DataFrame], pd.DataFrame | str]


def drop(column: str) -> Mutation:
    return lambda df: df.drop(columns=[column])


def set_cell(row: int, column: str, value: str) -> Mutation:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df.loc[row, column] = value
        return df

    return mutate


def set_column(column: str, value: str) -> Mutation:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(**{column: value})

    return mutate


def duplicate_row(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[5]]], ignore_index=True)


def drop_period(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["period_start"] != "2022-03-07"]


def first_periods(n: int) -> Mutation:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        keep = sorted(df["period_start"].unique())[:n]
        return df[df["period_start"].isin(keep)]

    return mutate


def mixed_grain(df: pd.DataFrame) -> pd.DataFrame:
    """Weekly rows followed by monthly rows for every entity."""
    weekly = first_periods(60)(df)
    monthly = []
    for _entity, group in weekly.groupby("entity_id"):
        tail = group.iloc[:12].copy()
        tail["period_start"] = pd.date_range("2023-03-01", periods=12, freq="MS").strftime(
            "%Y-%m-%d"
        )
        monthly.append(tail)
    return pd.concat([weekly, *monthly], ignore_index=True)


CASES: dict[str, tuple[Mutation, str, list[str]]] = {
    # name: (mutation, column named in the message, words the message must contain)
    "missing_entity_id": (drop("entity_id"), "entity_id", ["required column missing"]),
    "missing_period_start": (drop("period_start"), "period_start", ["required column missing"]),
    "missing_target": (drop("sales"), "sales", ["required column missing"]),
    "missing_driver": (drop("act_radio"), "act_radio", ["required column missing"]),
    "unparseable_date": (
        set_cell(3, "period_start", "03/02/2022"),
        "period_start",
        ["not a valid date"],
    ),
    "impossible_date": (
        set_cell(3, "period_start", "2022-02-30"),
        "period_start",
        ["not a valid date"],
    ),
    "duplicate_rows": (duplicate_row, "entity_id, period_start", ["duplicate"]),
    "negative_sales": (set_cell(10, "sales", "-5"), "sales", ["negative target"]),
    "negative_spend": (set_cell(10, "spend_tv", "-100.5"), "spend_tv", ["negative spend"]),
    "non_numeric": (set_cell(7, "act_digital", "lots"), "act_digital", ["not a number"]),
    "thousands_separator": (set_cell(7, "sales", "1,234.5"), "sales", ["not a number"]),
    "missing_value": (set_cell(8, "ctrl_price", ""), "ctrl_price", ["missing value"]),
    "infinite_value": (set_cell(8, "act_tv", "inf"), "act_tv", ["infinite"]),
    "mixed_grain": (mixed_grain, "period_start", ["mixed weekly and monthly"]),
    "gap_in_periods": (drop_period, "period_start", ["gap", "missing week"]),
    "too_few_periods": (first_periods(10), "period_start", ["only 10 periods", "at least"]),
    "empty_file": (lambda df: "", "", ["empty"]),
    "header_only": (lambda df: ",".join(df.columns) + "\n", "period_start", ["no data rows"]),
    "all_zero_driver": (set_column("act_radio", "0"), "act_radio", ["all zero"]),
    "constant_driver": (set_column("act_tv", "5"), "act_tv", ["constant"]),
    "constant_control": (set_column("ctrl_price", "1.0"), "ctrl_price", ["constant"]),
    "semicolon_delimited": (
        lambda df: df.to_csv(index=False, sep=";"),
        "",
        ["semicolon-delimited"],
    ),
}


def write_case(tmp_path: Path, frame: pd.DataFrame, mutation: Mutation) -> Path:
    result = mutation(frame.copy())
    path = tmp_path / "input.csv"
    if isinstance(result, str):
        path.write_text(result)
    else:
        result.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_cleanly(case: str, tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    mutation, column, words = CASES[case]
    path = write_case(tmp_path, sample_frame, mutation)
    run = run_cli(tmp_path / "run", f"dataset.path={path}")

    assert run.returncode != 0
    first_line = next(line for line in run.stderr.splitlines() if line.startswith("error:"))
    assert "input.csv" in first_line
    if column:
        assert f"column '{column}'" in first_line
    for word in words:
        assert word in first_line, first_line
    assert run.status["stage"] == "ERROR"
    assert "Traceback" in run.status["error"]["traceback"]
    assert (run.run_dir / "validation_summary.json").is_file()
    assert run.json("validation_summary.json")["passed"] is False
    for artifact in LATER_ARTIFACTS:
        assert not (run.run_dir / artifact).exists(), artifact
    assert not list(run.run_dir.rglob("*.tmp"))


def test_offending_rows_are_listed(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    """Up to five offending rows follow the one-line message, with line numbers."""
    frame = sample_frame.copy()
    for row in range(8):
        frame.loc[row, "act_digital"] = f"bad{row}"
    path = write_case(tmp_path, frame, lambda df: df)
    run = run_cli(tmp_path / "run", f"dataset.path={path}")
    assert "(8 rows; first: line 2 (store_east, 2022-01-03): 'bad0')" in run.stderr
    summary = run.json("validation_summary.json")
    check = next(c for c in summary["checks"] if c["name"] == "non_numeric_values")
    assert check["n_offending"] == 8
    assert [e["value"] for e in check["examples"]] == [f"bad{i}" for i in range(5)]
