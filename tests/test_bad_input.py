"""Bad input: non-zero exit, one line naming file, column and problem, ERROR status,
validation_summary.json written, and no canonical or later artifacts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import LATER_ARTIFACTS, run_cli

Mutation = Callable[[pd.DataFrame], pd.DataFrame | str | bytes]


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


def rename_header(old: str, new: str) -> Mutation:
    """Edit the header line as text (pandas cannot hold duplicate names)."""

    def mutate(df: pd.DataFrame) -> str:
        header, body = df.to_csv(index=False).split("\n", 1)
        names = header.split(",")
        names[names.index(old)] = new
        return ",".join(names) + "\n" + body

    return mutate


def shift_one_date(df: pd.DataFrame) -> pd.DataFrame:
    """One entity's period moved by 3 days: irregular spacing."""
    df = df.copy()
    df.loc[10, "period_start"] = "2022-03-17"
    return df


def to_bytes(data: bytes) -> Mutation:
    return lambda df: data


def hostile_constant_driver(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(**{HOSTILE: "7"})


HOSTILE = 'act_x"; DROP TABLE raw_input; --'
VALUE_PROBLEMS = {
    # value written into one cell -> words expected in the message
    "negative": ("-5", "negative"),
    "nan": ("nan", "NaN value"),
    "inf": ("inf", "infinite"),
    "text": ("n/a", "not a number"),
    "thousands": ("1,234", "not a number"),
    "overflow": ("1e400", "infinite or overflowing"),
    "blank": ("", "missing value"),
}
VALUE_COLUMNS = ("sales", "act_tv", "spend_tv", "ctrl_price")

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
    "missing_control": (drop("ctrl_price"), "ctrl_price", ["required column missing"]),
    "missing_digital": (drop("act_digital"), "act_digital", ["required column missing"]),
    "missing_tv": (drop("act_tv"), "act_tv", ["required column missing"]),
    "compact_date": (set_cell(3, "period_start", "20220103"), "period_start", ["not a valid date"]),
    "month_13": (set_cell(3, "period_start", "2022-13-01"), "period_start", ["not a valid date"]),
    "blank_date": (set_cell(4, "period_start", ""), "period_start", ["missing value"]),
    "blank_entity": (set_cell(4, "entity_id", ""), "entity_id", ["missing value"]),
    "irregular_spacing": (shift_one_date, "period_start", ["irregular spacing"]),
    "single_period": (first_periods(1), "period_start", ["only 1 periods"]),
    "constant_target": (set_column("sales", "1000"), "sales", ["constant"]),
    "duplicate_column": (rename_header("act_radio", "act_tv"), "act_tv", ["duplicate column"]),
    "duplicate_column_case": (
        rename_header("act_radio", "ACT_TV"),
        "act_tv",
        ["duplicate column", "case-insensitive"],
    ),
    "binary_file": (to_bytes(b"PK\x03\x04\x00\x00binary\x00\xff"), "", ["binary"]),
    "non_utf8": (
        lambda df: df.to_csv(index=False).encode().replace(b"store_east", b"store_\xff", 1),
        "",
        ["not UTF-8"],
    ),
    "hostile_name_constant": (hostile_constant_driver, HOSTILE, ["constant"]),
}
for _problem, (_value, _words) in VALUE_PROBLEMS.items():
    for _column in VALUE_COLUMNS:
        if _problem == "negative" and _column == "ctrl_price":
            continue  # controls may be negative (e.g. a centred index)
        if _problem == "negative":
            _words = {"sales": "negative target", "act_tv": "negative activity"}.get(
                _column, "negative spend"
            )
        CASES[f"{_problem}_{_column}"] = (set_cell(12, _column, _value), _column, [_words])

EXTRA_OVERRIDES = {
    "hostile_name_constant": ["dataset.drivers=[]", "dataset.controls=[]"],
    "configured_driver_absent": ["dataset.drivers=[act_tv,act_nope]"],
}
CASES["configured_driver_absent"] = (lambda df: df, "act_nope", ["required column missing"])


def write_case(tmp_path: Path, frame: pd.DataFrame, mutation: Mutation) -> Path:
    result = mutation(frame.copy())
    path = tmp_path / "input.csv"
    if isinstance(result, bytes):
        path.write_bytes(result)
    elif isinstance(result, str):
        path.write_text(result)
    else:
        result.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_cleanly(case: str, tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    mutation, column, words = CASES[case]
    path = write_case(tmp_path, sample_frame, mutation)
    run = run_cli(tmp_path / "run", f"dataset.path={path}", *EXTRA_OVERRIDES.get(case, []))

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
