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


def decompose(mu: np.ndarray, channel_terms: np.ndarray, offset: float) -> Decomposition:
    """Decompose per draw and period.

    mu: (..., T) linear predictor on the centred log scale; channel_terms: (..., T, C) the
    log-space lift of each channel over its zero-activity level, beta_c * (x_c - x_c_at_zero).
    """
    fitted = np.expm1(mu + offset)
    total_terms = channel_terms.sum(axis=-1)
    baseline = np.expm1(mu - total_terms + offset)
    incremental = fitted - baseline
    safe_total = np.where(total_terms > 0, total_terms, 1.0)
    shares = np.where(total_terms[..., None] > 0, channel_terms / safe_total[..., None], 0.0)
    return Decomposition(fitted, baseline, incremental[..., None] * shares)
