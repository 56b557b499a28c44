"""Highest-density intervals over posterior draws, vectorized over any trailing shape."""

from __future__ import annotations

import numpy as np

HDI_PROB = 0.94


def hdi(samples: np.ndarray, prob: float = HDI_PROB) -> tuple[np.ndarray, np.ndarray]:
    """Narrowest interval holding `prob` of the draws along axis 0 (same rule as arviz.hdi)."""
    ordered = np.sort(np.asarray(samples, dtype=float), axis=0)
    n = ordered.shape[0]
    n_inside = int(np.floor(prob * n))
    n_windows = n - n_inside
    widths = ordered[n_inside:] - ordered[:n_windows]
    start = np.argmin(widths, axis=0)
    lower = np.take_along_axis(ordered, start[None, ...], axis=0)[0]
    upper = np.take_along_axis(ordered, (start + n_inside)[None, ...], axis=0)[0]
    return lower, upper


def summarize(samples: np.ndarray, prob: float = HDI_PROB) -> dict[str, float]:
    """Posterior mean and HDI of a scalar quantity, JSON-ready."""
    lower, upper = hdi(samples, prob)
    return {
        "mean": float(np.mean(samples)),
        "sd": float(np.std(samples)),
        "hdi_lower": float(lower),
        "hdi_upper": float(upper),
        "hdi_prob": prob,
    }
