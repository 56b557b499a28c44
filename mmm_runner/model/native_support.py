"""The frame every hand-written native density shares: its data buffer and how NUTS sees it.

nutpie's Rust NUTS calls a structure's log density through a numba C callback with one float64
buffer as user data. The buffer is [header (HEADER values) | structure data | transform codes]:
header slots 0..28 belong to the structure, the last three are common (total length, number of
unconstrained coordinates, where the transform codes start). The codes let one generic
`expand_callback` map every structure's unconstrained draws back to parameter values.
The terms of the densities themselves are in `native_terms.py`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from mmm_runner.model.parameters import TRANSFORM_CODES, Parameter

HEADER = 32
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
LOG_2 = math.log(2.0)
TOTAL_LENGTH, N_DIM, CODES_AT = 29, 30, 31

LOGP_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)
EXPAND_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)


@dataclass(frozen=True)
class NativeDensity:
    """A structure's compiled density and the layout of its unconstrained vector."""

    logp_callback: Any  # numba cfunc with LOGP_SIGNATURE
    data: np.ndarray  # the float64 buffer it reads
    layout: list[tuple[str, tuple[int, ...]]]  # free parameters in vector order, with shapes
    initial_center: np.ndarray  # unconstrained point that chains start near (jittered by +-1)

    @property
    def n_dim(self) -> int:
        return int(self.data[N_DIM])


def assemble_buffer(
    header: np.ndarray,
    body: Sequence[np.ndarray],
    parameters: Sequence[Parameter],
    dim_sizes: dict[str, int],
) -> np.ndarray:
    """The buffer: the structure's header and data, then one transform code per coordinate."""
    codes = np.concatenate(
        [np.full(p.size(dim_sizes), TRANSFORM_CODES[p.transform], float) for p in parameters]
    )
    header = np.array(header, dtype=float)
    body_length = sum(np.asarray(part).size for part in body)
    header[N_DIM] = codes.size
    header[CODES_AT] = HEADER + body_length
    header[TOTAL_LENGTH] = HEADER + body_length + codes.size
    parts = [header, *(np.asarray(p, dtype=float).ravel() for p in body), codes]
    return np.ascontiguousarray(np.concatenate(parts))


def layout_of(
    parameters: Sequence[Parameter], dim_sizes: dict[str, int]
) -> list[tuple[str, tuple[int, ...]]]:
    return [(p.name, p.shape(dim_sizes)) for p in parameters]


@numba.njit(cache=True)
def data_view(user_data: numba.types.voidptr) -> np.ndarray:
    """The whole buffer behind nutpie's user-data pointer (its length is in the header)."""
    header = numba.carray(user_data, (HEADER,), np.float64)
    return numba.carray(user_data, (int(header[TOTAL_LENGTH]),), np.float64)


@numba.njit(cache=True)
def expand(x: np.ndarray, out: np.ndarray, data: np.ndarray) -> None:
    """Constrained values in vector order: identity, exp (log transform) or logistic (logit)."""
    codes_at = int(data[CODES_AT])
    for k in range(x.shape[0]):
        code = data[codes_at + k]
        if code == 1.0:
            out[k] = math.exp(x[k])
        elif code == 2.0:
            out[k] = 1.0 / (1.0 + math.exp(-x[k]))
        else:
            out[k] = x[k]


@numba.cfunc(EXPAND_SIGNATURE, cache=True)
def expand_callback(dim, n_expanded, x_ptr, out_ptr, user_data):  # type: ignore[no-untyped-def]
    data = data_view(user_data)
    if dim != int(data[N_DIM]) or n_expanded != dim:
        return -1
    x = numba.carray(x_ptr, (dim,))
    out = numba.carray(out_ptr, (n_expanded,))
    expand(x, out, data)
    return 0


# ------------------------------------------------------------------ priors as a table of rows
# One row (code, p1, p2) per unconstrained coordinate, evaluated by `prior_logp` below. Each
# code fixes the family and the transform NUTS sees, as PyMC's defaults do.
PRIOR_CODES: dict[tuple[str, str], int] = {
    ("Normal", "identity"): 1,  # p1 = mu, p2 = sigma
    ("HalfNormal", "log"): 2,  # p1 = sigma
    ("HalfNormal:scaled", "log"): 3,  # p1 = coordinate of the (log) scale parameter
    ("Exponential", "log"): 4,  # p1 = lam
    ("Beta", "logit"): 5,  # p1 = alpha, p2 = beta
    ("LogNormal", "log"): 6,  # p1 = mu, p2 = sigma
}
PRIOR_ARGS = {"Normal": ("mu", "sigma"), "HalfNormal": ("sigma",), "Exponential": ("lam",),
              "Beta": ("alpha", "beta"), "LogNormal": ("mu", "sigma")}  # fmt: skip
PRIOR_DEFAULTS = {"Normal": {"mu": 0.0, "sigma": 1.0}, "HalfNormal": {"sigma": 1.0},
                  "LogNormal": {"mu": 0.0, "sigma": 1.0}}  # fmt: skip


def prior_table(
    parameters: Sequence[Parameter], specs: Sequence[Any], dim_sizes: dict[str, int]
) -> np.ndarray | None:
    """(n_dim, 3) rows for `prior_logp`, or None when a prior is outside the table's families.

    `specs` are the parameters' `PriorSpec`s, in order; per-channel params are arrays.
    """
    starts, at = {}, 0
    for param in parameters:
        starts[param.name] = at
        at += param.size(dim_sizes)
    rows = np.zeros((at, 3))
    for param, spec in zip(parameters, specs, strict=True):
        size, start = param.size(dim_sizes), starts[param.name]
        family = f"{spec.dist}:scaled" if param.scale_from else spec.dist
        code = PRIOR_CODES.get((family, param.transform))
        allowed = set(PRIOR_ARGS.get(spec.dist, ())) - ({"sigma"} if param.scale_from else set())
        if code is None or set(spec.params) - allowed:
            return None
        values = {**PRIOR_DEFAULTS.get(spec.dist, {}), **spec.params}
        block = rows[start : start + size]
        block[:, 0] = code
        if param.scale_from:
            block[:, 1] = starts[param.scale_from]
            continue
        for column, arg in enumerate(PRIOR_ARGS[spec.dist], start=1):
            if arg not in values:
                return None
            block[:, column] = np.broadcast_to(np.asarray(values[arg], dtype=float), size)
    return rows


@numba.njit(cache=True, error_model="numpy")
def prior_logp(x: np.ndarray, grad: np.ndarray, rows: np.ndarray) -> float:
    """Sum of log priors plus log-Jacobians at unconstrained `x`; adds their gradient to `grad`."""
    lp = 0.0
    for k in range(x.shape[0]):
        code, p1, p2 = rows[k, 0], rows[k, 1], rows[k, 2]
        u = x[k]
        if code == 1.0:  # Normal
            z = (u - p1) / p2
            lp += -0.5 * z * z - math.log(p2) - HALF_LOG_2PI
            grad[k] += -z / p2
        elif code == 2.0:  # HalfNormal, log transform
            ratio = math.exp(u) / p1
            lp += LOG_2 - HALF_LOG_2PI - math.log(p1) - 0.5 * ratio * ratio + u
            grad[k] += -ratio * ratio + 1.0
        elif code == 3.0:  # HalfNormal scaled by exp(x[j]), log transform
            j = int(p1)
            ratio = math.exp(u - x[j])
            lp += LOG_2 - HALF_LOG_2PI - x[j] - 0.5 * ratio * ratio + u
            grad[k] += -ratio * ratio + 1.0
            grad[j] += -1.0 + ratio * ratio
        elif code == 4.0:  # Exponential, log transform
            value = math.exp(u)
            lp += math.log(p1) - p1 * value + u
            grad[k] += -p1 * value + 1.0
        elif code == 5.0:  # Beta, logit transform (log p + log(1 - p) is the Jacobian)
            log_p = -math.log1p(math.exp(-u)) if u > -30.0 else u
            log_q = -math.log1p(math.exp(u)) if u < 30.0 else -u
            p = math.exp(log_p)
            lp += (
                p1 * log_p + p2 * log_q - (math.lgamma(p1) + math.lgamma(p2) - math.lgamma(p1 + p2))
            )
            grad[k] += p1 * (1.0 - p) - p2 * p
        elif code == 6.0:  # LogNormal, log transform (Jacobian cancels the 1/x)
            z = (u - p1) / p2
            lp += -0.5 * z * z - math.log(p2) - HALF_LOG_2PI
            grad[k] += -z / p2
    return lp


def prior_centre(
    parameters: Sequence[Parameter], specs: Sequence[Any], dim_sizes: dict[str, int]
) -> np.ndarray:
    """The unconstrained point chains start near: each prior's centre (a scale prior at half
    its sigma, an Exponential at its mean, a Beta at its mean's log-odds)."""
    blocks = []
    for param, spec in zip(parameters, specs, strict=True):
        block = np.zeros(param.size(dim_sizes))
        if spec.dist == "LogNormal":
            block[:] = spec.params["mu"]
        elif spec.dist == "Exponential":
            block[:] = -np.log(spec.params["lam"])  # the mean
        elif param.transform == "log":
            block[:] = np.log(0.5 * float(np.mean(spec.params.get("sigma", 1.0))))
        elif spec.dist == "Beta":
            block[:] = np.log(np.asarray(spec.params["alpha"]) / spec.params["beta"])
        elif spec.dist == "Normal":
            block[:] = spec.params.get("mu", 0.0)
        blocks.append(block)
    return np.concatenate(blocks) if blocks else np.zeros(0)
