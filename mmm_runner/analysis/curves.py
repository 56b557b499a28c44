"""Response curves and marginal ROAS per channel (docs/model.md, "Response curves and mROAS").

From a `MediaResponse` over the training window: per channel and spend multiplier 0-2x, the
incremental target versus the channel at zero (every other channel and control as observed)
and its ROAS, posterior mean and 94% HDI; and mROAS, the extra target from 1% more spend in
every period over that extra spend. Both per draw, then summarised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.analysis.intervals import HDI_PROB, hdi, summarize
from mmm_runner.analysis.response import MediaResponse

MULTIPLIERS = np.round(np.arange(0.0, 2.0 + 1e-9, 0.05), 2)  # 0, 0.05, ..., 2
MROAS_STEP = 0.01  # mROAS: 1% more spend in every period
CURVE_METHOD = (
    "removal counterfactual per posterior draw: the target over the training window with the "
    "channel's activity and spend x multiplier in every period, minus the same with the channel "
    "at zero; every other channel and control as observed; fitted centring and scaling kept"
)
MROAS_DEFINITION = (
    "marginal ROAS: (incremental target at 1.01x the channel's spend in every period - at 1x) / "
    "(0.01 x spend), per posterior draw through the full model"
)
REMOVAL_DEFINITION = (
    "incremental_at_current: the response curve at 1x, fitted target minus the fitted target "
    "with the channel at zero (others as observed). Equals contribution_total in the additive "
    "structure; in log space contribution_total is a share of the joint lift and differs "
    "(docs/model.md)"
)


@dataclass
class ResponseReport:
    curves: pd.DataFrame  # response_curves.parquet
    channels: dict[str, dict[str, Any]]  # per channel: mroas, incremental_at_current


def channel_spend(
    window: pd.DataFrame, spend_for: dict[str, str | None], channels: list[str]
) -> np.ndarray:
    """(C,) each channel's spend summed over `window` (canonical rows); NaN without a column."""
    return np.array(
        [float(window[spend_for[c]].sum()) if spend_for.get(c) else np.nan for c in channels]
    )


def response_report(response: MediaResponse, spend: np.ndarray) -> ResponseReport:
    """Curves and mROAS; `spend` (C,) is each channel's spend over the window (NaN: none)."""
    grid = np.append(MULTIPLIERS, 1.0 + MROAS_STEP)
    at_one = int(np.flatnonzero(MULTIPLIERS == 1.0)[0])
    frames, channels = [], {}
    for i, name in enumerate(response.channels):
        curve = response.channel_curve(i, grid)  # (S, M + 1)
        frames.append(_curve_frame(name, curve[:, :-1], float(spend[i])))
        entry: dict[str, Any] = {"incremental_at_current": summarize(curve[:, at_one])}
        if np.isfinite(spend[i]) and spend[i] > 0:
            extra = curve[:, -1] - curve[:, at_one]
            entry["mroas"] = summarize(extra / (MROAS_STEP * spend[i]))
        channels[name] = entry
    return ResponseReport(pd.concat(frames, ignore_index=True), channels)


def _curve_frame(channel: str, curve: np.ndarray, spend: float) -> pd.DataFrame:
    lower, upper = hdi(curve)
    has_spend = np.isfinite(spend) and spend > 0
    spent = MULTIPLIERS * spend if has_spend else np.full(len(MULTIPLIERS), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        roas = np.where(spent > 0, curve / spent, np.nan)
    roas_lower, roas_upper = hdi(roas)
    return pd.DataFrame(
        {
            "channel": channel,
            "multiplier": MULTIPLIERS,
            "spend": spent,
            "incremental_mean": curve.mean(axis=0),
            "incremental_sd": curve.std(axis=0),
            "incremental_hdi_lower": lower,
            "incremental_hdi_upper": upper,
            "roas_mean": roas.mean(axis=0),
            "roas_hdi_lower": roas_lower,
            "roas_hdi_upper": roas_upper,
            "hdi_prob": HDI_PROB,
            "method": CURVE_METHOD,
        }
    )


def add_to_roi(roi: dict[str, Any], report: ResponseReport) -> None:
    """roi_metrics.json gains mROAS and the removal counterfactual per channel, labelled."""
    roi["definitions"]["mroas"] = MROAS_DEFINITION
    roi["definitions"]["incremental_at_current"] = REMOVAL_DEFINITION
    roi["response_method"] = CURVE_METHOD
    for name, entry in report.channels.items():
        roi["channels"][name].update(entry)
