"""Pointwise log-likelihood of the SPEC §2 model from posterior draws (for LOO)."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln


def pointwise_log_likelihood(
    mu: np.ndarray, y: np.ndarray, sigma: np.ndarray, nu: np.ndarray | None
) -> np.ndarray:
    """log p(y_t | draw) with mu (S, T), sigma (S,), nu (S,) or None for a Normal likelihood."""
    r = (y[None, :] - mu) / sigma[:, None]
    if nu is None:
        return -0.5 * r**2 - np.log(sigma)[:, None] - 0.5 * np.log(2 * np.pi)
    nu_ = nu[:, None]
    return (
        gammaln(0.5 * (nu_ + 1))
        - gammaln(0.5 * nu_)
        - 0.5 * np.log(nu_ * np.pi)
        - np.log(sigma)[:, None]
        - 0.5 * (nu_ + 1) * np.log1p(r**2 / nu_)
    )
