"""Lift-test entries and ROAS priors resolved against a run's data (model/calibration.py).

`load_entries` reads the `calibration` group's inline entries and CSV rows, each checked without
data (config/calibration.py); `resolve_test` and `resolve_roas_prior` check an entry against the
features (a known channel, a window inside the training window, spend) and turn it into arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.config.calibration import (
    ENTRY_COLUMNS,
    OPTIONAL_COLUMNS,
    LiftTestConfig,
    check_entry,
    parse_date,
)
from mmm_runner.data.source import resolve_input_path
from mmm_runner.errors import ConfigError
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.media import lagged
from mmm_runner.model.priors import POSITIVE_PARAMS, PriorSpec


@dataclass(frozen=True)
class LiftTest:
    """One entry, resolved against the data's periods."""

    label: str  # where it was configured: calibration.entries[1], or a CSV row
    name: str
    channel: str
    index: int  # the channel's column
    start: str
    end: str
    measure_end: str
    spend_change: float
    lift: float
    lift_se: float
    window: np.ndarray  # (T,) 1.0 in the periods whose media changed
    measured: np.ndarray  # (T,) 1.0 in the periods the lift is summed over
    spend_delta: float  # the spend change in money over the window (NaN: no spend column)

    def lag_multiplier(self, max_lag: int) -> np.ndarray:
        """(L+1, T): the factor on the channel's lagged media, media_lags[l, t] = x[t - l]."""
        return 1.0 + self.spend_change * lagged(self.window[:, None], max_lag)[..., 0]


@dataclass(frozen=True)
class RoasPrior:
    channel: str
    index: int
    spec: PriorSpec
    spend: float  # over the training window


def load_entries(cal_cfg: Any) -> list[tuple[str, Any]]:
    """(label, entry) for every inline entry and CSV row, each checked (no data needed)."""
    if cal_cfg is None:
        return []
    out: list[tuple[str, Any]] = []
    for i, entry in enumerate(cal_cfg.entries):
        label = f"calibration.entries[{i}]"
        check_entry(entry, label)
        out.append((label, entry))
    if cal_cfg.path:
        path = resolve_input_path(str(cal_cfg.path))
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        missing = [c for c in ENTRY_COLUMNS if c not in table.columns]
        if missing:
            raise ConfigError(f"calibration.path: {path.name} lacks column(s) {missing}")
        for row, record in enumerate(table.to_dict(orient="records")):
            label = f"calibration.path ({path.name}) row {row + 1}"
            entry = _entry_from_row(record, label)
            check_entry(entry, label)
            out.append((label, entry))
    return out


def _entry_from_row(record: Mapping[str, str], label: str) -> LiftTestConfig:
    values: dict[str, Any] = {}
    for column in (*ENTRY_COLUMNS, *OPTIONAL_COLUMNS):
        text = str(record.get(column, "")).strip()
        if column in ("spend_change", "lift", "lift_se"):
            try:
                values[column] = float(text)
            except ValueError:
                raise ConfigError(f"{label}.{column}: {text!r} is not a number") from None
        else:
            values[column] = text or (None if column in OPTIONAL_COLUMNS else "")
    return LiftTestConfig(**values)


def channel_index(key: str, channel: str, features: FeatureSet) -> int:
    if channel not in features.channel_names:
        raise ConfigError(
            f"{key}: unknown channel {channel!r}; channels: {', '.join(features.channel_names)}"
        )
    return features.channel_names.index(channel)


def resolve_test(
    label: str, entry: Any, training: FeatureSet, period_spend: np.ndarray
) -> LiftTest:
    channel = str(entry.channel)
    index = channel_index(f"{label}.channel", channel, training)
    periods = pd.to_datetime(pd.Series(training.periods)).dt.normalize().to_numpy()
    step = np.median(np.diff(periods)) if len(periods) > 1 else np.timedelta64(7, "D")
    first, last = periods[0], periods[-1] + step - np.timedelta64(1, "D")
    start = np.datetime64(parse_date(entry.start, f"{label}.start"))
    end = np.datetime64(parse_date(entry.end, f"{label}.end"))
    measure_text = entry.measure_end or entry.end
    measure_end = np.datetime64(parse_date(measure_text, f"{label}.measure_end"))
    span = f"{str(first)[:10]}..{str(last)[:10]}"
    if start < first or measure_end > last:
        raise ConfigError(
            f"{label}: window {entry.start}..{measure_text} is outside the training window {span}"
        )
    window = ((periods >= start) & (periods <= end)).astype(float)
    measured = ((periods >= start) & (periods <= measure_end)).astype(float)
    if not window.any():
        raise ConfigError(f"{label}: no period starts within {entry.start}..{entry.end}")
    media = training.media_scaled[:, index]
    if not (media * window).any():
        raise ConfigError(
            f"{label}: {channel} has no activity in {entry.start}..{entry.end}: a spend change "
            "there changes nothing"
        )
    change = float(entry.spend_change)
    name = str(entry.name) if entry.name else f"{channel} {entry.start}..{entry.end}"
    return LiftTest(
        label=label,
        name=name,
        channel=channel,
        index=index,
        start=str(entry.start),
        end=str(entry.end),
        measure_end=str(measure_text),
        spend_change=change,
        lift=float(entry.lift),
        lift_se=float(entry.lift_se),
        window=window,
        measured=measured,
        spend_delta=float(change * (period_spend[:, index] * window).sum()),
    )


def resolve_roas_prior(
    channel: str, prior_cfg: Any, training: FeatureSet, spend: np.ndarray
) -> RoasPrior:
    key = f"model.roas_prior.{channel}"
    index = channel_index(key, channel, training)
    dist = str(_get(prior_cfg, "dist") or "")
    params = {str(k): float(v) for k, v in dict(_get(prior_cfg, "params") or {}).items()}
    if not dist or not dist[0].isupper():
        raise ConfigError(f"{key}.dist: {dist!r} is not a distribution name")
    for pname, value in params.items():
        if pname in POSITIVE_PARAMS and value <= 0:
            raise ConfigError(f"{key}.params.{pname}: must be > 0, got {value}")
    if not (np.isfinite(spend[index]) and spend[index] > 0):
        raise ConfigError(f"{key}: {channel} has no spend in the training window: no ROAS")
    return RoasPrior(channel, index, PriorSpec(dist, dict(params), key), float(spend[index]))


def _get(node: Any, key: str) -> Any:
    """A key of a mapping or an attribute of a PriorConfig."""
    return node.get(key) if hasattr(node, "get") else getattr(node, key, None)
