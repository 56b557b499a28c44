"""Load the project's SQL files and run them in DuckDB with bound parameters.

Each file is one SELECT producing one table, named after the file (the staging/source_rows_*
files instead define the table macro that reads the input). Values arrive as bound `$name`
parameters, never pasted into the text; every statement that ran is kept so the run directory
can show a reviewer exactly what executed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from mmm_runner.resources import sql_dir

SQL_DIR = sql_dir()  # the checkout's sql/ or, installed, the packaged copy
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_META = re.compile(r"^--\s*(check|severity|level|description):\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class SqlFile:
    """One SQL file: its table name, text, bound parameter names and header metadata."""

    path: Path
    text: str

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def relative_path(self) -> str:
        return self.path.relative_to(SQL_DIR.parent).as_posix()

    @property
    def param_names(self) -> list[str]:
        return sorted(set(_PARAM.findall(self.text)))

    @property
    def meta(self) -> dict[str, str]:
        return dict(_META.findall(self.text))


@cache
def load_sql(relative: str) -> SqlFile:
    """A file under sql/, e.g. `validation/check_duplicate_rows.sql`."""
    path = SQL_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: {path}")
    return SqlFile(path=path, text=path.read_text())


def check_files() -> list[SqlFile]:
    """Every validation check (sql/validation/check_*.sql), in file-name order."""
    return [
        load_sql(f"validation/{p.name}") for p in sorted(SQL_DIR.glob("validation/check_*.sql"))
    ]


def sql_literal(value: Any) -> str:
    """A value rendered as a SQL literal, for the human-readable compiled log only."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    if value is None:
        return "NULL"
    return repr(value)


@dataclass
class SqlSession:
    """One in-memory DuckDB database for a run, plus the log of every statement executed."""

    threads: int | None = None
    compiled: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        config = {"threads": self.threads} if self.threads else {}
        self.con = duckdb.connect(":memory:", config=config)
        self.con.execute("SET enable_progress_bar = false")  # no bar on a user's stdout
        # DuckDB 2.0 pushes TRY_CAST into read_csv as a hard cast, so one bad cell aborts the
        # read instead of becoming NULL (duckdb/duckdb#23818, fix pending in #24167).
        self.con.execute("SET disabled_optimizers = 'type_pushdown'")

    def _bind(self, sql: SqlFile, params: dict[str, Any]) -> dict[str, Any]:
        missing = [p for p in sql.param_names if p not in params]
        if missing:
            raise KeyError(f"{sql.relative_path} needs parameters {missing}")
        return {p: params[p] for p in sql.param_names}

    def _log(self, sql: SqlFile, statement: str, bound: dict[str, Any]) -> None:
        args = ", ".join(f"{k} := {sql_literal(v)}" for k, v in bound.items())
        header = f"-- source: {sql.relative_path}\n-- params: {json.dumps(bound, default=str)}\n"
        runnable = (
            f"PREPARE {sql.name} AS\n{statement};\nEXECUTE {sql.name}({args});\n"
            if bound
            else f"{statement};\n"
        )
        self.compiled.append((sql.name, header + runnable))

    def create_table(
        self, sql: SqlFile, params: dict[str, Any] | None = None, table: str | None = None
    ) -> None:
        """Materialize the file's SELECT as a table named after the file (or `table`)."""
        bound = self._bind(sql, params or {})
        statement = f'CREATE OR REPLACE TABLE "{table or sql.name}" AS\n{sql.text}'
        self._log(sql, statement, bound)
        self.con.execute(statement, bound)

    def _execute_unbound(self, sql: SqlFile, statement: str, kind: str) -> None:
        """A statement DuckDB cannot prepare with parameters (a view or macro definition)."""
        if sql.param_names:
            raise ValueError(f"{sql.relative_path}: a {kind} cannot take parameters")
        self._log(sql, statement, {})
        self.con.execute(statement)

    def define_macro(self, sql: SqlFile) -> None:
        """Run a file holding one `CREATE MACRO` (a macro takes arguments, not parameters)."""
        self._execute_unbound(sql, sql.text, "macro definition")

    def create_view(self, sql: SqlFile) -> None:
        """The file's SELECT as a view: computed by each reader, never held in memory.

        Views cannot hold bound parameters, so a view file takes none: values it needs come
        from small tables made with bound parameters (e.g. stg_column_roles).
        """
        statement = f'CREATE OR REPLACE VIEW "{sql.name}" AS\n{sql.text}'
        self._execute_unbound(sql, statement, "view")

    def query(self, sql: SqlFile, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Run the file's SELECT and return its rows."""
        bound = self._bind(sql, params or {})
        self._log(sql, sql.text, bound)
        return self.con.execute(sql.text, bound).df()

    def table(self, name: str) -> pd.DataFrame:
        return self.con.execute(f'SELECT * FROM "{name}"').df()

    def close(self) -> None:
        self.con.close()
