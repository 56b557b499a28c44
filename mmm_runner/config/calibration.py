"""The `calibration` config group: lift tests the model must agree with (conf/calibration/).

Each entry is one experiment: over the periods from `start` to `end` the channel's activity and
spend were changed by the fraction `spend_change` (-1.0: switched off, 0.5: +50%), and the target
changed by `lift` (in the target's units, over `start` .. `measure_end`, default `end`), with
standard error `lift_se`. `path` names a CSV with the same columns (one entry a row). The model
term each entry adds is in docs/model.md, "Calibration". Checks that need no data run here, before
any work; the channel and the window are checked against the data once features are built
(`mmm_runner.model.calibration`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mmm_runner.errors import ConfigError

ENTRY_COLUMNS = ("channel", "start", "end", "spend_change", "lift", "lift_se")
OPTIONAL_COLUMNS = ("measure_end", "name")


@dataclass
class LiftTestConfig:
    """One experiment's result (see the module docstring)."""

    channel: str = ""
    start: str = ""
    end: str = ""
    spend_change: float = 0.0
    lift: float = 0.0
    lift_se: float = 0.0
    measure_end: str | None = None  # null: the lift was measured over start..end
    name: str | None = None  # a label for reports; null: "<channel> <start>..<end>"


@dataclass
class CalibrationConfig:
    name: str = "none"
    entries: list[LiftTestConfig] = field(default_factory=list)
    path: str | None = None  # a CSV of entries (columns as LiftTestConfig), added to `entries`


def is_configured(cal_cfg: Any) -> bool:
    return cal_cfg is not None and (bool(cal_cfg.entries) or bool(cal_cfg.path))


def parse_date(value: Any, key: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from None


def check_entry(entry: Any, label: str) -> None:
    """Everything about one entry that needs no data; the error names the entry and the key."""
    if not str(entry.channel or ""):
        raise ConfigError(f"{label}.channel: missing")
    start = parse_date(entry.start, f"{label}.start")
    end = parse_date(entry.end, f"{label}.end")
    if end < start:
        raise ConfigError(f"{label}.end: {entry.end} is before start {entry.start}")
    if entry.measure_end not in (None, ""):
        measure_end = parse_date(entry.measure_end, f"{label}.measure_end")
        if measure_end < end:
            raise ConfigError(f"{label}.measure_end: {entry.measure_end} is before end {end}")
    change = float(entry.spend_change)
    if not math.isfinite(change) or change < -1.0 or change == 0.0:
        raise ConfigError(
            f"{label}.spend_change: must be a fraction >= -1 and != 0 (-1.0: channel off, "
            f"0.5: +50%), got {entry.spend_change}"
        )
    if not math.isfinite(float(entry.lift)):
        raise ConfigError(f"{label}.lift: must be a finite number, got {entry.lift}")
    se = float(entry.lift_se)
    if not (math.isfinite(se) and se > 0):
        raise ConfigError(f"{label}.lift_se: must be > 0, got {entry.lift_se}")


def check_calibration(cal_cfg: Any, drivers: list[str] | None = None) -> None:
    """The group's inline entries (a CSV is checked when read); `drivers`, when the dataset
    lists them, are the only channels an entry may name."""
    if cal_cfg is None:
        return
    for i, entry in enumerate(cal_cfg.entries):
        label = f"calibration.entries[{i}]"
        check_entry(entry, label)
        if drivers and str(entry.channel) not in drivers:
            raise ConfigError(
                f"{label}.channel: unknown channel {str(entry.channel)!r}; channels: "
                f"{', '.join(drivers)}"
            )
