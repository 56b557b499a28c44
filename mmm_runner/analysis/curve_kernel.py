"""The response curves' inner loop, compiled: every draw, period and spend multiplier at once.

A curve point is a sum over periods of `grown[t] * expm1(coef * h(x u[t]))` (log link) or of
`weight[t] * coef * h(x u[t])` (identity link). In numpy each multiplier took six passes over
(draws x periods), most of it libm's scalar expm1: an entity panel's 50 x 5 x 42 curves spent
over a minute there. Here vectorised loops do it, draws split over threads, and expm1 is a
Taylor polynomial on |v| <= 1/4 (truncation below 1e-17 of the value) after halving the argument
m times, undone by m steps of `expm1(2v) = expm1(v) (expm1(v) + 2)`: within a few units in the
last place of libm's, so a curve moves by about 1e-15 of itself. Terms past 4 (m > 4) take libm.

numba compiles this file once and caches the machine code (`inference.caches`, NUMBA_CACHE_DIR);
the kernels use nothing from other files, so numba's own file check keeps that cache in step.
"""

from __future__ import annotations

import math

import numba
import numpy as np

HILL, LOGISTIC, NONE = 0, 1, 2  # saturation families, as `MediaResponse.family` names them
FAMILY_CODES = {"hill": HILL, "logistic": LOGISTIC, "none": NONE}
REDUCED = 0.25  # the polynomial's argument range
MAX_HALVINGS = 4  # beyond 4 (terms past 4 on the model scale) libm's expm1 is used
# 1/k! for k = 1..12: expm1(v) = v (1 + v/2 + ... + v^11/12!), error below 1e-17 for |v| <= 1/4
# (plain floats: numba compiles them in as constants)
C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12 = (1.0 / math.factorial(k) for k in range(1, 13))

# nogil: callers may run several curves at once in threads (`entity.PanelResponse`); not numba's
# own parallel loops, which took twice as long to compile (a first run on a cold cache)
_JIT = {"cache": True, "fastmath": True, "error_model": "numpy", "nogil": True}
_INLINE = {**_JIT, "inline": "always"}  # helpers: one function for LLVM to vectorise


@numba.njit(**_INLINE)
def _term(u: float, factor: float, coef: float, family: int) -> float:
    """coef * h(x u) from a `MediaResponse.kernel` value u and the multiplier's factor (hill:
    x^S; logistic and none: x), with `response._saturate`'s operations."""
    if family == HILL:
        q = u * factor
        return (q / (q + 1.0)) * coef
    if family == LOGISTIC:
        e = math.exp(u * -factor)
        return ((1.0 - e) / (e + 1.0)) * coef
    return (u * factor) * coef


@numba.njit(**_INLINE)
def _halvings(bound: float) -> int:
    """How many times to halve an argument bounded by `bound` into the polynomial's range."""
    halvings, scale = 0, 1.0
    while bound * scale > REDUCED and halvings <= MAX_HALVINGS:
        scale *= 0.5
        halvings += 1
    return halvings


@numba.njit(**_INLINE)
def _taylor(v: float) -> float:
    """expm1(v) for |v| <= 1/4: the degree-12 Taylor polynomial, Estrin's scheme (shorter
    dependency chains than Horner's: the loops below run several points at once)."""
    v2 = v * v
    v4 = v2 * v2
    low = C1 + C2 * v + (C3 + C4 * v) * v2
    mid = C5 + C6 * v + (C7 + C8 * v) * v2
    high = C9 + C10 * v + (C11 + C12 * v) * v2
    return (low + mid * v4 + high * (v4 * v4)) * v


@numba.njit(**_INLINE)
def _log_point(
    kernel: np.ndarray,
    ends: tuple[float, float],
    factor: float,
    coef: float,
    family: int,
    weights: np.ndarray,
    buf: np.ndarray,
) -> float:
    """sum_t weights[t] expm1(coef h(x kernel[t])); `ends` the kernel's min and max, `buf` a
    scratch row."""
    low, high = _term(ends[0], factor, coef, family), _term(ends[1], factor, coef, family)
    halvings = _halvings(max(abs(low), abs(high)))  # h is monotone: the ends bound the terms
    if family == HILL and 0 < halvings <= MAX_HALVINGS:  # the common case, terms inline
        scale = 0.5**halvings
        for t in range(kernel.shape[0]):
            q = kernel[t] * factor
            buf[t] = _taylor(((q / (q + 1.0)) * coef) * scale)
        return _doubled(buf, weights, halvings)
    for t in range(kernel.shape[0]):
        buf[t] = _term(kernel[t], factor, coef, family)
    total = 0.0
    if halvings > MAX_HALVINGS:
        for t in range(kernel.shape[0]):
            total += weights[t] * math.expm1(buf[t])
        return total
    if halvings == 0:
        for t in range(kernel.shape[0]):
            total += weights[t] * _taylor(buf[t])
        return total
    scale = 0.5**halvings
    for t in range(kernel.shape[0]):
        buf[t] = _taylor(buf[t] * scale)
    return _doubled(buf, weights, halvings)


@numba.njit(**_INLINE)
def _doubled(buf: np.ndarray, weights: np.ndarray, halvings: int) -> float:
    """sum_t weights[t] expm1(2^halvings v[t]) from buf[t] = expm1(v[t]), halvings >= 1:
    expm1(2v) = expm1(v) (expm1(v) + 2)."""
    for _ in range(halvings - 1):
        for t in range(buf.shape[0]):
            e = buf[t]
            buf[t] = e * (e + 2.0)
    total = 0.0
    for t in range(buf.shape[0]):
        e = buf[t]
        total += weights[t] * (e * (e + 2.0))
    return total


@numba.njit(**_JIT)
def log_curves(
    kernel: np.ndarray,
    factor: np.ndarray,
    multipliers: np.ndarray,
    coef: np.ndarray,
    grown: np.ndarray,
    family: int,
    out: np.ndarray,
) -> None:
    """out[s, j] = sum_t grown[s, t] expm1(coef[s] h(x_j u[s, t])); kernel and factor have S
    rows or one shared row (`MediaResponse`: media shared by every draw in `fixed`)."""
    n_s, n_m = out.shape
    n_t = grown.shape[1]
    shared = kernel.shape[0] == 1
    for s in range(n_s):
        row = 0 if shared else s
        buf = np.empty(n_t)
        ends = (kernel[row].min(), kernel[row].max())
        for j in range(n_m):
            if multipliers[j] == 0.0:  # the channel at zero: nothing over itself
                out[s, j] = 0.0
                continue
            out[s, j] = _log_point(
                kernel[row], ends, factor[row, j], coef[s], family, grown[s], buf
            )


@numba.njit(**_JIT)
def identity_curves(
    kernel: np.ndarray,
    factor: np.ndarray,
    multipliers: np.ndarray,
    coef: np.ndarray,
    weight: np.ndarray,
    scale: float,
    family: int,
    out: np.ndarray,
) -> None:
    """out[s, j] = scale * sum_t weight[t] coef[s] h(x_j u[s, t]) (the additive link)."""
    n_s, n_m = out.shape
    n_t = weight.shape[0]
    shared = kernel.shape[0] == 1
    for s in range(n_s):
        row = 0 if shared else s
        buf = np.empty(n_t)
        for j in range(n_m):
            if multipliers[j] == 0.0:
                out[s, j] = 0.0
                continue
            out[s, j] = scale * _identity_point(
                kernel[row], factor[row, j], coef[s], family, weight, buf
            )


@numba.njit(**_INLINE)
def _identity_point(
    kernel: np.ndarray,
    factor: float,
    coef: float,
    family: int,
    weights: np.ndarray,
    buf: np.ndarray,
) -> float:
    """sum_t weights[t] coef h(x kernel[t]) (hill inline, the other families through `buf`)."""
    total = 0.0
    if family == HILL:
        for t in range(kernel.shape[0]):
            q = kernel[t] * factor
            total += ((q / (q + 1.0)) * coef) * weights[t]
        return total
    for t in range(kernel.shape[0]):
        buf[t] = _term(kernel[t], factor, coef, family)
    for t in range(kernel.shape[0]):
        total += buf[t] * weights[t]
    return total
