"""Canonicalize stage: typed brand-time table from the validated observations."""

from __future__ import annotations

import pandas as pd

from mmm_runner.data.columns import ColumnPlan
from mmm_runner.data.sql import SqlSession, load_sql


def canonicalize(session: SqlSession, plan: ColumnPlan) -> pd.DataFrame:
    """One row per period: target, drivers and spend summed over entities, controls averaged.

    Reads stg_typed and stg_periods, which validation built from the same file.
    """
    return _mart(session, plan, "canonical_data", keys=["period_start"])


def entity_panel(session: SqlSession, plan: ColumnPlan) -> pd.DataFrame:
    """model.level=entity: one row per entity and period, nothing summed over entities."""
    frame = _mart(session, plan, "entity_data", keys=["entity_id", "period_start"])
    frame["entity_id"] = frame["entity_id"].astype(str)
    return frame


def _mart(session: SqlSession, plan: ColumnPlan, table: str, keys: list[str]) -> pd.DataFrame:
    """Build `sql/marts/<table>.sql` (controls averaged, the other used columns summed) and read
    it back sorted by `keys`."""
    averaged = list(plan.controls)
    summed = [c for c in plan.used_columns if c not in averaged]
    session.create_table(
        load_sql(f"marts/{table}.sql"), {"summed_columns": summed, "averaged_columns": averaged}
    )
    frame = session.table(table)
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    return frame[[*keys, *plan.used_columns]].sort_values(keys, ignore_index=True)
