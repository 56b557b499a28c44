"""The result of one validation check, and how it reads as one line for a user."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_EXAMPLES = 5


@dataclass
class CheckResult:
    """A check passes when it found no offending rows; `examples` holds the first few."""

    name: str
    severity: str  # "error" or "warning"
    description: str
    n_offending: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    message: str = ""
    decided_by: str = ""  # the SQL file whose result this is (a check's own, or the screen)

    @property
    def passed(self) -> bool:
        return self.n_offending == 0

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, **asdict(self)}


def describe_row(row: dict[str, Any]) -> str:
    """`line 7 (entity store_a, 2024-01-01): '1,234'` -- whatever of that the row has."""
    where = []
    if row.get("line") is not None:
        where.append(f"line {row['line']}")
    keys = [str(row[k]) for k in ("entity_id", "period_start") if row.get(k) not in (None, "")]
    if keys:
        where.append(f"({', '.join(keys)})")
    value = row.get("value")
    text = " ".join(where)
    return f"{text}: {value!r}" if value is not None else text or "-"


def result_from_rows(
    file_label: str, meta: dict[str, str], rows: list[dict[str, Any]], decided_by: str
) -> CheckResult:
    """Build a check result from the offending rows a check query returned."""
    result = CheckResult(
        name=meta["check"],
        severity=meta.get("severity", "error"),
        description=meta.get("description", ""),
        n_offending=len(rows),
        examples=rows[:MAX_EXAMPLES],
        decided_by=decided_by,
    )
    if rows:
        result.columns = list(dict.fromkeys(str(r.get("column_name")) for r in rows))
        first = rows[0]
        same = [r for r in rows if r.get("column_name") == first.get("column_name")]
        count = f"{len(same)} row{'s' if len(same) != 1 else ''}"
        result.message = (
            f"{file_label}: column '{first.get('column_name')}': {first.get('problem')} "
            f"({count}; first: {describe_row(first)})"
        )
    return result


def simple_failure(name: str, description: str, message: str, column: str = "") -> CheckResult:
    """A failed file-level check (no offending rows to list, one message)."""
    return CheckResult(
        name=name,
        severity="error",
        description=description,
        n_offending=1,
        columns=[column] if column else [],
        message=message,
    )
