"""Canonicalize stage: typed brand-time table from the validated observations."""

from __future__ import annotations

import pandas as pd

from mmm_runner.data.columns import ColumnPlan
from mmm_runner.data.sql import SqlSession, load_sql


def canonicalize(session: SqlSession, plan: ColumnPlan) -> pd.DataFrame:
    """One row per period: target, drivers and spend summed over entities, controls averaged.

    Reads stg_typed and stg_periods, which validation built from the same file.
    """
    averaged = list(plan.controls)
    summed = [c for c in plan.used_columns if c not in averaged]
    session.create_table(
        load_sql("marts/canonical_data.sql"),
        {"summed_columns": summed, "averaged_columns": averaged},
    )
    frame = session.table("canonical_data")
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    ordered = ["period_start", *plan.used_columns]
    return frame[ordered].sort_values("period_start", ignore_index=True)


def entity_panel(session: SqlSession, plan: ColumnPlan) -> pd.DataFrame:
    """model.level=entity: one row per entity and period, nothing summed over entities."""
    averaged = list(plan.controls)
    summed = [c for c in plan.used_columns if c not in averaged]
    session.create_table(
        load_sql("marts/entity_data.sql"),
        {"summed_columns": summed, "averaged_columns": averaged},
    )
    frame = session.table("entity_data")
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame["entity_id"] = frame["entity_id"].astype(str)
    ordered = ["entity_id", "period_start", *plan.used_columns]
    return frame[ordered].sort_values(["entity_id", "period_start"], ignore_index=True)
