"""The learned media block: adstock and saturation with parameters, written once for numpy and
PyTensor (docs/model.md, "Structure learned").

    x_c[t] = activity_c[t] / peak_c                      (features: media_scaled)
    a_c[t] = sum_l w_c[l] x_c[t - l],  w_c[l] = decay_c^l / sum_k decay_c^k,  l = 0..max_lag
    hill:      h_c = a^S / (K^S + a^S)
    logistic:  h_c = (1 - exp(-lam a)) / (1 + exp(-lam a)),  lam = ln 3 / K   (h(K) = 1/2)

Both families are parametrised by the half-saturation point K, so one K prior serves both.
`a` is floored at HILL_FLOOR inside the Hill power so its gradient stays finite at zero media.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

HILL_FLOOR = 1e-12
SPREAD_FLOOR = 1e-3  # added in quadrature to sd(h): a (near) constant channel stays finite
LOG_3 = math.log(3.0)  # logistic rate at which h(K) = 1/2
SATURATION_CODES = {"hill": 0, "logistic": 1, "none": 2}


def lagged(media: np.ndarray, max_lag: int) -> np.ndarray:
    """(L+1, T, C): media[t - l] for lag l, zero before the first period."""
    n_t = media.shape[0]
    out = np.zeros((max_lag + 1, *media.shape))
    for lag in range(min(max_lag, n_t - 1) + 1):
        out[lag, lag:] = media[: n_t - lag]
    return out


def adstock_weights(decay: Any, max_lag: int) -> Any:
    """(..., L+1, C) normalised geometric weights from decay (..., C)."""
    lags = np.arange(max_lag + 1, dtype=float)[:, None]
    powers = decay[..., None, :] ** lags
    return powers / powers.sum(-2)[..., None, :]


def adstock(decay: Any, lagged_media: Any, max_lag: int, xp: Any) -> Any:
    """(..., T, C) carried-over media."""
    return xp.einsum("...lc,ltc->...tc", adstock_weights(decay, max_lag), lagged_media)


def saturate(carried: Any, k: Any, slope: Any, family: str, xp: Any) -> Any:
    """(..., T, C) saturated media in [0, 1); `family` is hill, logistic or none.

    `k` and `slope` broadcast against (..., T, C): per-channel values as (..., 1, C).
    """
    if family == "hill":
        floored = xp.maximum(carried, HILL_FLOOR)
        if isinstance(slope, (int, float)) and slope == 1:  # a / (a + K): no power, one division
            return floored / (floored + k)
        ratio = (floored / k) ** slope
        return ratio / (1.0 + ratio)
    if family == "logistic":
        decay_term = xp.exp(-(LOG_3 / k) * carried)
        return (1.0 - decay_term) / (1.0 + decay_term)
    return carried
