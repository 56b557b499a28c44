"""sql/ stays clean under sqlfluff, with the repository's .sqlfluff (what pre-commit runs)."""

from __future__ import annotations

from pathlib import Path

from sqlfluff.core import FluffConfig, Linter

ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = ROOT / "sql"


def test_sql_files_pass_sqlfluff() -> None:
    config = FluffConfig.from_path(str(ROOT))
    assert config.get("dialect") == "duckdb", "the repository's .sqlfluff was not loaded"

    result = Linter(config=config).lint_paths((str(SQL_DIR),))

    linted = {Path(record["filepath"]).resolve() for record in result.as_records()}
    assert linted == set(SQL_DIR.rglob("*.sql")), "sqlfluff did not lint every file in sql/"
    problems = [
        f"{Path(record['filepath']).resolve().relative_to(ROOT)}:{v['start_line_no']}:"
        f"{v['start_line_pos']}: {v['code']} {v['description']}"
        for record in result.as_records()
        for v in record["violations"]
    ]
    assert not problems, "sqlfluff lint sql/ (fix with `sqlfluff fix`):\n" + "\n".join(problems)
