"""The report page's content model: a run's shared facts, and sections made of charts and tables.

Plain data for the template; `sections` fills it from the store, the template escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmm_runner.report.labels import channel_labels
from mmm_runner.report.svg import Chart
from mmm_runner.store import Artifact, RunRecord


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: tuple[int, ...] = ()  # indices of right-aligned (number) columns


@dataclass
class Section:
    id: str
    title: str
    lead: str = ""
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    pre: str = ""
    pre_caption: str = ""
    unavailable: str = ""


@dataclass
class RunFacts:
    """What several sections share: channel order and labels, target name, period name."""

    record: RunRecord
    channels: list[str]
    labels: dict[str, str]
    target: str
    period: str
    metadata: dict[str, Any]

    @classmethod
    def of(cls, record: RunRecord) -> RunFacts:
        metadata = record.document(Artifact.MODEL_METADATA) or {}
        columns = record.document(Artifact.COLUMN_INFO) or {}
        channels = list(metadata.get("channels") or columns.get("drivers") or [])
        if not channels and record.roi:
            channels = list(record.roi.channels)
        grain = str(columns.get("grain") or (record.config or {}).get("dataset", {}).get("grain"))
        period = {"WEEK": "week", "MONTH": "month"}.get(grain.upper(), "period")
        target = str(columns.get("target") or "sales")
        return cls(record, channels, channel_labels(channels), target, period, metadata)

    def missing(self, artifact: Artifact) -> str:
        stage = self.record.status.stage or "unknown"
        return f"not available: this run has no {artifact.filename} (it stopped at {stage})."
