"""Terms the hand-written native densities share, as numba functions: one statement each.

The learned and entity densities (learned_native.py, entity_native.py) both run the media path
(adstock by recursion, saturation, their derivatives), the z-score of each channel's h and its
gradient (`centre`, `z_gradient`) and one observation's likelihood term (`observation`); the
fixed density shares the Student-t constants. Equations: model/media.py, docs/model.md.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from mmm_runner.model.media import HILL_FLOOR, LOG_3, SPREAD_FLOOR
from mmm_runner.model.native_support import HALF_LOG_2PI


@numba.njit(cache=True)
def digamma(x: float) -> float:
    """psi(x) for x > 0 (StudentT's gradient in nu): recurrence up to 6, then the asymptotic
    series (error < 1e-12)."""
    result = 0.0
    while x < 6.0:
        result -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv2 * (
        1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132)))
    )
    return result + math.log(x) - 0.5 * inv - series


@numba.njit(cache=True, error_model="numpy")
def adstock_recursion(d: float, n_l: int) -> tuple[float, float, float, float]:
    """For decay d over lags 0..L (n_l = L + 1): W = sum_l d^l, W' = dW/dd, d^(L+1), (L+1) d^L.

    The adstock recursion y[t] = x[t] + d y[t-1] - d^(L+1) x[t-L-1] drops the lag that leaves
    the window; a = y / W normalises it (model/media.py).
    """
    w, dw, power = 0.0, 0.0, 1.0
    for lag in range(n_l):
        w += power
        if lag > 0:
            dw += lag * power / d if d > 0.0 else (1.0 if lag == 1 else 0.0)
        power *= d
    return w, dw, power, (n_l * power / d if d > 0.0 else 0.0)


@numba.njit(cache=True, error_model="numpy")
def media_path(
    data: np.ndarray,
    at: int,
    stride: int,
    n_t: int,
    n_l: int,
    family: int,
    slope_learned: bool,
    d: float,
    w: float,
    dw: float,
    d_last: float,
    dd_last: float,
    k: float,
    s: float,
    h: np.ndarray,
    dh: np.ndarray,
) -> None:
    """One channel's (of one entity's) saturated carried-over media h[t] and dh/d(decay, K,
    slope)[t], for the learned and entity densities alike.

    Media are data[at + t * stride]; adstock by recursion over a window of n_l periods. Each
    family has its own loop, and the common Hill with slope 1 costs one division per period
    (h = a / (a + K)), which is what makes a 50-entity panel affordable.
    """
    inv_w = 1.0 / w
    dw_w2 = dw * inv_w * inv_w
    y, dy = 0.0, 0.0
    if family == 0 and s == 1.0 and not slope_learned:
        for t in range(n_t):
            value = data[at + t * stride]
            dropped = data[at + (t - n_l) * stride] if t >= n_l else 0.0
            dy = y + d * dy - dd_last * dropped
            y = value + d * y - d_last * dropped
            a = y * inv_w
            da = dy * inv_w - y * dw_w2
            if a > HILL_FLOOR:
                inv = 1.0 / (a + k)
                h[t] = a * inv
                dh[0, t] = k * inv * inv * da
                dh[1, t] = -a * inv * inv
            else:
                inv = 1.0 / (HILL_FLOOR + k)
                h[t] = HILL_FLOOR * inv
                dh[0, t] = 0.0
                dh[1, t] = -HILL_FLOOR * inv * inv
    elif family == 0:
        for t in range(n_t):
            value = data[at + t * stride]
            dropped = data[at + (t - n_l) * stride] if t >= n_l else 0.0
            dy = y + d * dy - dd_last * dropped
            y = value + d * y - d_last * dropped
            a = y * inv_w
            da = dy * inv_w - y * dw_w2
            floored = a if a > HILL_FLOOR else HILL_FLOOR
            ratio = (floored / k) ** s
            value_h = ratio / (1.0 + ratio)
            core = value_h * (1.0 - value_h)
            h[t] = value_h
            dh[0, t] = s * core / floored * da if a > HILL_FLOOR else 0.0
            dh[1, t] = -s * core / k
            if slope_learned:
                dh[2, t] = core * math.log(floored / k)
    elif family == 1:
        lam = LOG_3 / k
        for t in range(n_t):
            value = data[at + t * stride]
            dropped = data[at + (t - n_l) * stride] if t >= n_l else 0.0
            dy = y + d * dy - dd_last * dropped
            y = value + d * y - d_last * dropped
            a = y * inv_w
            da = dy * inv_w - y * dw_w2
            ex = math.exp(-lam * a)
            value_h = (1.0 - ex) / (1.0 + ex)
            half_slope = 0.5 * (1.0 - value_h * value_h)
            h[t] = value_h
            dh[0, t] = lam * half_slope * da
            dh[1, t] = -a * lam * half_slope / k
    else:
        for t in range(n_t):
            value = data[at + t * stride]
            dropped = data[at + (t - n_l) * stride] if t >= n_l else 0.0
            dy = y + d * dy - dd_last * dropped
            y = value + d * y - d_last * dropped
            h[t] = y * inv_w
            dh[0, t] = dy * inv_w - y * dw_w2
            dh[1, t] = 0.0  # no K: the row is read (n_q = 2) but must not add to any gradient


@numba.njit(cache=True, error_model="numpy", inline="always")
def centre(h: np.ndarray, dh: np.ndarray, n_q: int, d_mean: np.ndarray, d_cov: np.ndarray) -> float:
    """Centres h[t] in place over its periods and returns its spread sqrt(var + floor^2), the
    z-score's denominator; d_mean[q], d_cov[q]: the means of dh[q] and of (h - mean) dh[q]
    for `z_gradient`. Sums run over contiguous rows into scalars (array accumulators went
    through memory every period)."""
    n_t = h.shape[0]
    inv_t = 1.0 / n_t
    mean = 0.0
    for t in range(n_t):
        mean += h[t]
    mean *= inv_t
    for q in range(n_q):
        row, total_d, total_hd = dh[q], 0.0, 0.0
        for t in range(n_t):
            total_d += row[t]
            total_hd += h[t] * row[t]
        d_mean[q] = total_d * inv_t
        d_cov[q] = (total_hd - mean * total_d) * inv_t
    var = 0.0
    for t in range(n_t):
        h[t] -= mean
        var += h[t] * h[t]
    return math.sqrt(var * inv_t + SPREAD_FLOOR * SPREAD_FLOOR)


@numba.njit(cache=True, error_model="numpy", inline="always")
def z_gradient(
    h: np.ndarray,
    dh: np.ndarray,
    n_q: int,
    sd: float,
    d_mean: np.ndarray,
    d_cov: np.ndarray,
    d_mu: np.ndarray,
    d_mu_total: float,
    g: np.ndarray,
) -> float:
    """For z = h / sd with h centred (`centre`): g[q] = sum_t d_mu[t] dz[t]/d theta_q, by
    dz/d theta = (dh - mean dh) / sd - h d_sd / sd^2 with d_sd = mean(h dh) / sd. Returns
    sum_t d_mu[t] h[t] (d/d beta is that / sd)."""
    n_t = h.shape[0]
    g_centred = 0.0
    for t in range(n_t):
        g_centred += d_mu[t] * h[t]
    g[:] = 0.0
    for q in range(n_q):
        row, total = dh[q], 0.0
        for t in range(n_t):
            total += d_mu[t] * row[t]
        g[q] = (total - d_mu_total * d_mean[q]) / sd - g_centred * d_cov[q] / (sd * sd * sd)
    return g_centred


@numba.njit(cache=True, error_model="numpy")
def student_t_constants(nu: float) -> tuple[float, float]:
    """The Student-t log density's normalising constant (sigma aside) and its d/d nu."""
    const = math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu * math.pi)
    d_const = 0.5 * digamma(0.5 * (nu + 1.0)) - 0.5 * digamma(0.5 * nu) - 0.5 / nu
    return const, d_const


@numba.njit(cache=True, error_model="numpy", inline="always")
def observation(
    residual: float,
    inv_sigma: float,
    log_sigma: float,
    student: bool,
    nu: float,
    inv_nu: float,
    const: float,
    d_const: float,
) -> tuple[float, float, float, float]:
    """One observation with residual y - mu: its log density and the derivatives by mu, by
    log sigma and by nu (Student-t with `student_t_constants(nu)`, else Normal)."""
    r = residual * inv_sigma
    r2 = r * r
    if student:
        log_term = math.log1p(r2 * inv_nu)
        weight = (nu + 1.0) / (nu + r2)
        return (
            const - log_sigma - 0.5 * (nu + 1.0) * log_term,
            weight * r * inv_sigma,
            -1.0 + weight * r2,
            d_const - 0.5 * log_term + 0.5 * weight * r2 * inv_nu,
        )
    return -0.5 * r2 - log_sigma - HALF_LOG_2PI, r * inv_sigma, -1.0 + r2, 0.0
