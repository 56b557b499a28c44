"""Log-space structures: split the fitted level into baseline and channel parts.

The method is docs/model.md, "Contributions and ROI"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD = (
    "log-space proportional split: fitted = expm1(mu + m); baseline = fitted with every channel at "
    "raw zero activity; fitted - baseline shared among channels in proportion to "
    "beta_c * (x_c - x_c_at_zero), so baseline + sum(channels) = fitted exactly"
)


@dataclass
class Decomposition:
    fitted: np.ndarray  # (..., T)
    baseline: np.ndarray  # (..., T)
    contributions: np.ndarray  # (..., T, C)


def decompose(
    mu: np.ndarray, channel_terms: np.ndarray, offset: float | np.ndarray, channel_axis: int = -1
) -> Decomposition:
    """Decompose per draw and period.

    mu: (..., T) linear predictor on the centred log scale; channel_terms: (..., T, C) the
    log-space lift of each channel over its zero-activity level, beta_c * (x_c - x_c_at_zero).
    `channel_axis=0` takes and returns channels first, (C, ..., T): entity panels decompose
    channel-major, where numpy's inner loops run over periods rather than a few channels.
    """
    fitted = np.expm1(mu + offset)
    total_terms = channel_total(channel_terms, channel_axis)
    baseline = np.expm1(mu - total_terms + offset)
    incremental = fitted - baseline
    positive = total_terms > 0
    safe_total = np.expand_dims(np.where(positive, total_terms, 1.0), channel_axis)
    shares = np.where(np.expand_dims(positive, channel_axis), channel_terms / safe_total, 0.0)
    return Decomposition(fitted, baseline, np.expand_dims(incremental, channel_axis) * shares)


def channel_total(terms: np.ndarray, channel_axis: int = -1) -> np.ndarray:
    """The sum over channels in the order numpy sums an innermost axis (one by one up to 7
    channels, pairwise from 8), wherever the channels are: either layout gives the same bits."""
    if channel_axis in (-1, terms.ndim - 1):
        return terms.sum(axis=-1)
    if terms.shape[channel_axis] < 8:  # numpy adds along an outer axis one by one as well
        return terms.sum(axis=channel_axis)
    return np.ascontiguousarray(np.moveaxis(terms, channel_axis, -1)).sum(axis=-1)
