"""Column roles (README, "Input format"): which columns are target, drivers, spend, controls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmm_runner.config.schema import DatasetConfig

KEY_COLUMNS = ("entity_id", "period_start")
RESERVED_COLUMNS = ("_source_row", "_period_date")  # added by the SQL staging layer
ROLE_PREFIXES = {"act_": "activity", "spend_": "spend", "ctrl_": "control"}


def channel_of(column: str) -> str:
    """`act_tv` and `spend_tv` both belong to channel `tv`."""
    for prefix in ("act_", "spend_"):
        if column.startswith(prefix):
            return column[len(prefix) :]
    return column


def default_drivers(header: list[str]) -> list[str]:
    """Every act_* column, plus spend_* columns of channels that have no activity column."""
    activity = [c for c in header if c.startswith("act_")]
    with_activity = {channel_of(c) for c in activity}
    spend_only = [
        c for c in header if c.startswith("spend_") and channel_of(c) not in with_activity
    ]
    return activity + spend_only


@dataclass(frozen=True)
class ColumnPlan:
    """The columns a run uses and the role of each."""

    target: str
    drivers: list[str]
    controls: list[str]
    spend_for: dict[str, str | None]  # driver -> its spend column (itself for spend_* drivers)
    ignored: list[str]
    population: str | None = None  # dataset.population_col (model.level=entity: per capita)

    @property
    def spend_columns(self) -> list[str]:
        return list(dict.fromkeys(s for s in self.spend_for.values() if s))

    @property
    def model_columns(self) -> list[str]:
        return [self.target, *self.drivers, *self.controls]

    @property
    def used_columns(self) -> list[str]:
        extra = [self.population] if self.population else []
        return list(dict.fromkeys([*self.model_columns, *self.spend_columns, *extra]))

    def roles(self) -> dict[str, str]:
        roles = {c: "key" for c in KEY_COLUMNS}
        roles[self.target] = "target"
        for c in self.spend_columns:
            roles[c] = "spend"
        for c in self.drivers:
            roles[c] = "driver_activity" if c.startswith("act_") else "driver_spend"
        for c in self.controls:
            roles[c] = "control"
        if self.population:
            roles[self.population] = "population"
        for c in self.ignored:
            roles.setdefault(c, "ignored")
        return roles

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "drivers": self.drivers,
            "controls": self.controls,
            "roles": self.roles(),
            "pairs": [
                {"driver": d, "spend": s, "roi_basis": "paired spend" if s else "no spend"}
                for d, s in self.spend_for.items()
            ],
            "ignored": self.ignored,
            **({"population": self.population} if self.population else {}),
        }


def plan_columns(header: list[str], dataset_cfg: DatasetConfig) -> ColumnPlan:
    """Resolve configured (or default) drivers and controls against the file's header."""
    target = str(dataset_cfg.target_col)
    drivers = list(dataset_cfg.drivers) or default_drivers(header)
    controls = list(dataset_cfg.controls) or [c for c in header if c.startswith("ctrl_")]
    present = set(header)
    spend_for: dict[str, str | None] = {}
    for d in drivers:
        if d.startswith("spend_"):
            spend_for[d] = d
        else:
            paired = "spend_" + channel_of(d)
            spend_for[d] = paired if paired in present else None
    population = getattr(dataset_cfg, "population_col", None) or None
    used = {target, *drivers, *controls, *(s for s in spend_for.values() if s), *KEY_COLUMNS}
    used |= {population} if population else set()
    ignored = [c for c in header if c not in used]
    return ColumnPlan(target, drivers, controls, spend_for, ignored, population)
