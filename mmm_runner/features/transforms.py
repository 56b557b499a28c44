"""Pure numpy media and time transforms (docs/model.md, "Features").

No config, no I/O: easy to test against hand values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEASONAL_PERIOD = {"WEEK": 52.1775, "MONTH": 12.0}


def geometric_adstock(x: np.ndarray, decay: float, max_lag: int) -> np.ndarray:
    """Carry-over `y[t] = sum_{l=0..max_lag} decay^l x[t-l]`.

    This is the recursion `y[t] = x[t] + decay * y[t-1]` truncated at `max_lag` periods, so an
    impulse stops echoing after `max_lag` periods instead of decaying forever.
    """
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"adstock decay must be in [0, 1), got {decay}")
    if max_lag < 0:
        raise ValueError(f"adstock max_lag must be >= 0, got {max_lag}")
    x = np.asarray(x, dtype=float)
    weights = decay ** np.arange(max_lag + 1)
    return np.convolve(x, weights)[: len(x)]


def hill_saturation(
    x: np.ndarray, half_saturation: float, slope: float, peak: float | None = None
) -> np.ndarray:
    """Hill curve `x^S / (K^S + x^S)` on the series divided by its maximum.

    Scaling by the peak makes `K` the half-saturation point as a share of the peak, so one K
    is meaningful across channels measured in impressions, GRPs or dollars. `peak` defaults to
    the series' maximum; pass the training window's maximum to keep a holdout unseen.
    """
    if half_saturation <= 0 or slope <= 0:
        raise ValueError(f"Hill K and S must be > 0, got K={half_saturation}, S={slope}")
    x = np.asarray(x, dtype=float)
    peak = x.max(initial=0.0) if peak is None else peak
    if peak <= 0:
        return np.zeros_like(x)
    scaled = np.clip(x / peak, 0.0, None) ** slope
    return scaled / (half_saturation**slope + scaled)


def logistic_saturation(
    x: np.ndarray, half_saturation: float, peak: float | None = None
) -> np.ndarray:
    """Logistic curve `(1 - exp(-lam x)) / (1 + exp(-lam x))` on the series over its peak.

    `lam = ln 3 / K`, so K is the half-saturation point as for the Hill curve.
    """
    if half_saturation <= 0:
        raise ValueError(f"saturation K must be > 0, got K={half_saturation}")
    x = np.asarray(x, dtype=float)
    peak = x.max(initial=0.0) if peak is None else peak
    if peak <= 0:
        return np.zeros_like(x)
    decay_term = np.exp(-(np.log(3.0) / half_saturation) * np.clip(x / peak, 0.0, None))
    return (1.0 - decay_term) / (1.0 + decay_term)


def fourier_terms(n_periods: int, period: float, harmonics: int) -> np.ndarray:
    """Columns sin(2πkt/P), cos(2πkt/P) for k = 1..K, t = 0..n-1: shape (n, 2K)."""
    t = np.arange(n_periods, dtype=float)
    cols = []
    for k in range(1, harmonics + 1):
        angle = 2.0 * np.pi * k * t / period
        cols += [np.sin(angle), np.cos(angle)]
    return np.column_stack(cols) if cols else np.empty((n_periods, 0))


def linear_trend(n_periods: int) -> np.ndarray:
    """Time index scaled to [0, 1]."""
    if n_periods == 1:
        return np.zeros(1)
    return np.arange(n_periods, dtype=float) / (n_periods - 1)


@dataclass(frozen=True)
class Standardizer:
    """Z-score parameters of one column; kept so new data (and raw zero) map the same way."""

    mean: float
    std: float

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        x = np.asarray(x, dtype=float)
        std = float(x.std())
        # A constant column carries no information; std 1 keeps it finite instead of NaN.
        return cls(mean=float(x.mean()), std=std if std > 0 else 1.0)

    def transform(self, x: np.ndarray | float) -> np.ndarray:
        return (np.asarray(x, dtype=float) - self.mean) / self.std
