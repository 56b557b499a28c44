"""Validation stage: header checks in Python, row checks as DuckDB SQL files.

Every check either passes or lists its offending rows; all results go to
validation_summary.json, and the first error becomes the one line the user sees.

Two layers, so that a clean 10-million-row file costs one typed pass: the screen
(validation/screen.sql) reads only small tables (per-column counts, distinct periods, one row
per entity) and proves when the row-level checks cannot find anything. Only when it cannot
is the file's text numbered and held, and every check run to list its offending rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from mmm_runner.config.schema import DatasetConfig, value_of
from mmm_runner.data.checks import CheckResult, result_from_rows, simple_failure
from mmm_runner.data.columns import (
    KEY_COLUMNS,
    RESERVED_COLUMNS,
    ColumnPlan,
    plan_columns,
)
from mmm_runner.data.source import InputFile, inspect_input
from mmm_runner.data.sql import SqlSession, load_sql
from mmm_runner.errors import DataValidationError

# Run order of the SQL checks: the first failing error is the one reported on the console.
# A check's `-- level:` header says what it reads: `row` checks read the row-level tables and,
# when the screen is clean, are recorded as passed (decided by the screen) without running;
# `summary` checks read small tables and always run.
CHECK_ORDER = (
    "check_missing_keys",
    "check_unparseable_dates",
    "check_missing_values",
    "check_non_numeric_values",
    "check_non_finite_values",
    "check_negative_values",
    "check_duplicate_rows",
    "check_irregular_periods",
    "check_too_few_periods",
    "check_constant_columns",
    "check_unbalanced_entities",
)


@dataclass
class ValidationReport:
    """What validation learned: the summary to write, the column plan and the time grain."""

    summary: dict[str, Any]
    plan: ColumnPlan | None
    grain: str | None
    checks: list[CheckResult]

    @property
    def errors(self) -> list[CheckResult]:
        return [c for c in self.checks if c.severity == "error" and not c.passed]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.severity == "warning" and not c.passed]


def header_checks(source: InputFile, plan: ColumnPlan) -> list[CheckResult]:
    """Column-level problems visible in the header alone."""
    label, header = source.label, source.header
    results: list[CheckResult] = []
    seen: dict[str, str] = {}
    duplicates = []
    for name in header:
        if name.lower() in seen:
            duplicates.append(f"'{seen[name.lower()]}' and '{name}'")
        seen.setdefault(name.lower(), name)
    blank = [i + 1 for i, n in enumerate(header) if not n]
    reserved = [n for n in header if n.lower() in RESERVED_COLUMNS]
    if duplicates or blank or reserved:
        problems = []
        if duplicates:
            problems.append(f"duplicate column names (case-insensitive): {', '.join(duplicates)}")
        if blank:
            problems.append(f"blank column name at position(s) {blank}")
        if reserved:
            problems.append(f"reserved column name(s) {reserved}")
        column = header[0] if not duplicates else duplicates[0].split(" and ")[0].strip("'")
        results.append(
            simple_failure(
                "header_columns",
                "column names are unique (ignoring case), non-blank and not reserved",
                f"{label}: column '{column}': {'; '.join(problems)}",
                column,
            )
        )
    required = [*KEY_COLUMNS, plan.target, *plan.drivers, *plan.controls]
    required += [plan.population] if plan.population else []
    missing = [c for c in dict.fromkeys(required) if c not in header]
    if missing:
        results.append(
            simple_failure(
                "required_columns",
                "entity_id, period_start, the target and every configured driver/control exist",
                f"{label}: column '{missing[0]}': required column missing"
                + (f" (also missing: {missing[1:]})" if missing[1:] else "")
                + f"; the file has {header}",
                missing[0],
            )
        )
    wrong_role = [d for d in plan.drivers if not d.startswith(("act_", "spend_"))]
    wrong_role += [c for c in plan.controls if not c.startswith("ctrl_")]
    if wrong_role:
        results.append(
            simple_failure(
                "column_roles",
                "drivers are act_*/spend_* columns and controls are ctrl_* columns",
                f"{label}: column '{wrong_role[0]}': drivers must be act_* or spend_* columns "
                "and controls ctrl_* columns",
                wrong_role[0],
            )
        )
    if not plan.drivers:
        results.append(
            simple_failure(
                "drivers_present",
                "at least one media driver",
                f"{label}: column 'act_*': no driver columns found; add act_*/spend_* columns "
                "or list them in dataset.drivers",
            )
        )
    return results


def _load_typed(session: SqlSession, source: InputFile, plan: ColumnPlan) -> CheckResult | None:
    """Read the file once into stg_typed; a reader failure or an empty file is a failed check."""
    session.define_macro(load_sql(f"staging/source_rows_{source.format}.sql"))
    try:
        session.create_table(
            load_sql("staging/stg_typed.sql"),
            {"path": str(source.path), "used_columns": plan.used_columns},
        )
    except duckdb.Error as exc:
        detail = str(exc).strip().splitlines()[0]
        return simple_failure(
            "file_readable",
            "the file parses as a comma-separated CSV with a header row",
            f"{source.label}: could not be parsed as {source.format.upper()}: {detail}",
        )
    n_rows = session.con.execute('SELECT count(*) FROM "stg_typed"').fetchall()[0][0]
    if n_rows == 0:
        return simple_failure(
            "file_readable",
            "the file has data rows below its header",
            f"{source.label}: column 'period_start': the file has a header but no data rows",
            "period_start",
        )
    return None


def _build_row_level(session: SqlSession, source: InputFile) -> dict[str, Any]:
    """Number the file's text rows and build the long form the row-level checks read.

    Returns the time axis as detect_grain.sql sees it, entity by entity.
    """
    session.create_table(load_sql("staging/raw_input.sql"), {"path": str(source.path)})
    session.create_view(load_sql("staging/stg_rows.sql"))
    session.create_view(load_sql("staging/stg_observations.sql"))
    session.create_table(load_sql("staging/stg_entity_periods.sql"))
    session.create_table(load_sql("validation/value_problems.sql"))
    return session.query(load_sql("validation/detect_grain.sql")).to_dict("records")[0]


def resolve_grain(detected: str, configured: str, label: str) -> tuple[str, CheckResult | None]:
    """The grain to use, or a failed check when data and config disagree."""
    if detected == "MIXED":
        return detected, simple_failure(
            "grain",
            "periods share one grain (WEEK or MONTH)",
            f"{label}: column 'period_start': mixed weekly and monthly period spacing",
            "period_start",
        )
    if configured not in ("auto", detected) and detected != "UNKNOWN":
        return detected, simple_failure(
            "grain",
            "the configured grain matches the data",
            f"{label}: column 'period_start': data is {detected} but dataset.grain is {configured}",
            "period_start",
        )
    grain = configured if configured != "auto" else detected
    if grain == "UNKNOWN":
        return grain, simple_failure(
            "grain",
            "the time grain can be detected from period spacing",
            f"{label}: column 'period_start': cannot detect a WEEK or MONTH grain from the "
            "period spacing",
            "period_start",
        )
    return grain, None


def validate(
    session: SqlSession,
    path: Path,
    dataset_cfg: DatasetConfig,
    periods_to_fit: Callable[[ColumnPlan], int],
    *,
    full: bool = False,
) -> ValidationReport:
    """Run every check; the report carries the summary whether or not the data passed.

    `periods_to_fit(plan)` is how many periods the model needs for these columns (the model
    layer knows its parameter count; this layer does not). `full` runs the row-level checks
    even when the screen is clean (to audit the screen).
    """
    try:
        source = inspect_input(path)
    except DataValidationError as exc:
        failure = simple_failure(
            "file_readable", "the file is a readable, non-empty CSV or Parquet file", str(exc)
        )
        report = ValidationReport({}, None, None, [failure])
        report.summary = build_summary(InputFile(path, "unknown", []), report, {}, [])
        return report
    plan = plan_columns(source.header, dataset_cfg)
    checks = header_checks(source, plan)
    report = ValidationReport({}, plan, None, checks)
    if checks or (failure := _load_typed(session, source, plan)) is not None:
        if not checks:
            checks.append(failure)
        report.summary = build_summary(source, report, {}, [])
        return report

    session.create_table(
        load_sql("staging/stg_periods.sql"), {"date_format": dataset_cfg.date_format}
    )
    session.create_table(
        load_sql("staging/stg_column_roles.sql"),
        {"used_columns": plan.used_columns, "target_col": plan.target},
    )
    session.create_table(load_sql("staging/stg_entity_axis.sql"))
    session.define_macro(load_sql("macros/finite_or_null.sql"))
    session.create_table(
        load_sql("validation/column_profile.sql"), {"used_columns": plan.used_columns}
    )
    screen_file = load_sql("validation/screen.sql")
    screen = session.query(screen_file).to_dict("records")[0]
    row_level = full or not screen["clean"]
    axis = _build_row_level(session, source) if row_level else screen
    configured = value_of(dataset_cfg.grain)
    grain, grain_failure = resolve_grain(axis["grain"], configured, source.label)
    report.grain = grain
    step_grain = (
        grain
        if grain in ("WEEK", "MONTH")
        else ("WEEK" if axis["week_steps"] >= axis["month_steps"] else "MONTH")
    )
    params = {
        "date_format": dataset_cfg.date_format,
        "grain": step_grain,
        "min_periods": periods_to_fit(plan) + int(dataset_cfg.holdout_periods),
        "model_columns": plan.model_columns,
    }
    for name in CHECK_ORDER:
        sql = load_sql(f"validation/{name}.sql")
        if sql.meta["level"] == "row" and not row_level:
            checks.append(result_from_rows(source.label, sql.meta, [], screen_file.relative_path))
        else:
            rows = [_clean(r) for r in session.query(sql, params).to_dict("records")]
            checks.append(result_from_rows(source.label, sql.meta, rows, sql.relative_path))
        if name == "check_duplicate_rows" and grain_failure:
            checks.append(grain_failure)
    profile = _profile_with_missingness(session, row_level)
    report.summary = build_summary(source, report, axis, profile, params["min_periods"])
    report.summary["screen"] = {  # what the screen found, and whether row-level checks ran
        "clean": bool(screen["clean"]),
        "row_level_checks_run": row_level,
        "findings": _clean(screen["findings"]),
    }
    return report


def _profile_with_missingness(session: SqlSession, row_level: bool) -> list[dict[str, Any]]:
    """column_profile rows plus blank and non-numeric counts (zero when the screen was clean)."""
    profile = session.table("column_profile").to_dict("records")
    counts: dict[str, dict[str, Any]] = {}
    if row_level:
        missingness = session.query(load_sql("validation/missingness.sql"))
        counts = {r["column_name"]: r for r in missingness.to_dict("records")}
    for row in profile:
        found = counts.get(row["column_name"], {})
        row["n_missing"] = found.get("n_missing", 0)
        row["n_non_numeric"] = found.get("n_non_numeric", 0)
    return profile


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly values (pandas hands back NaN/NaT/numpy scalars)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "tolist"):  # numpy scalars and arrays
            value = value.tolist()
        if (isinstance(value, float) and value != value) or value is pd.NaT:  # NaN
            value = None
        out[key] = value
    return out


def build_summary(
    source: InputFile,
    report: ValidationReport,
    axis: dict[str, Any],
    profile: list[dict[str, Any]],
    min_periods: int | None = None,
) -> dict[str, Any]:
    """validation_summary.json: every check, counts, date range, entities, grain, verdicts."""
    axis = _clean(axis) if axis else {}
    plan = report.plan
    return {
        "file": str(source.path),
        "format": source.format,
        "passed": not report.errors,
        "grain": report.grain,
        "detected_grain": axis.get("grain"),
        "n_periods": axis.get("n_periods"),
        "n_entities": axis.get("n_entities"),
        "entities": list(axis.get("entities") or []),
        "date_range": {
            "first": str(axis["first_period"]) if axis.get("first_period") else None,
            "last": str(axis["last_period"]) if axis.get("last_period") else None,
        },
        "min_periods_required": min_periods,
        "columns": plan.to_dict() if plan else None,
        "missingness": {
            p["column_name"]: {"n_rows": p["n_rows"], "n_missing": p["n_missing"]}
            for p in map(_clean, profile)
        },
        "column_profile": [_clean(p) for p in profile],
        "checks": [c.to_dict() for c in report.checks],
        "errors": [c.message for c in report.errors],
        "warnings": [c.message for c in report.warnings],
    }
