"""The report's per-entity ROAS charts (model.level=entity), beside the brand ROAS section."""

from __future__ import annotations

import pandas as pd

from mmm_runner.report import charts
from mmm_runner.report.charts import IntervalRow
from mmm_runner.report.content import RunFacts, Section
from mmm_runner.store import Artifact

ENTITY_ROWS = 40  # entities per chart (the largest spenders): a readable height


def entity_roas_charts(facts: RunFacts, section: Section, table: pd.DataFrame | None) -> None:
    """model.level=entity: each channel's ROAS per entity (`table`: entity_roi_metrics)."""
    if table is None or table.empty:
        return
    for i, channel in enumerate(facts.channels or list(dict.fromkeys(table["channel"]))):
        rows = table[(table["channel"] == channel) & table["roas_mean"].notna()]
        if rows.empty:
            continue
        shown = rows.nlargest(ENTITY_ROWS, "spend").sort_values("entity_id")
        points = [
            IntervalRow(str(r.entity_id), r.roas_mean, r.roas_hdi_lower, r.roas_hdi_upper)
            for r in shown.itertuples()
        ]
        more = f", the {ENTITY_ROWS} largest spenders" if len(rows) > ENTITY_ROWS else ""
        section.charts.append(
            charts.interval_chart(
                f"chart-entity-roas-{i}",
                f"ROAS of {facts.labels.get(channel, channel)} per entity (94% HDI{more})",
                points,
                f"{facts.target} returned per unit of spend",
                1.0,
                "break-even (ROAS 1)",
                one_colour=True,
            )
        )
    section.notes.append(
        "Per-entity ROAS: each entity's effect is pooled toward the channel's (model.level="
        f"entity); every entity and channel is in {Artifact.ENTITY_ROI.filename}."
    )
