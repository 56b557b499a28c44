"""The fixed structure's log density and gradient, hand-derived, as a cached numba C callback.

nutpie's Rust NUTS calls it through a function pointer. Because the source is static, numba
caches the machine code on disk (`cache=True`): a new process loads it in ~0.1 s instead of
compiling a PyTensor graph (1.5 s from PyTensor's cache, ~12 s through nutpie's numba path),
and refitting new data only swaps the data buffer.

Unconstrained vector: the order of `FixedStructure.parameters` -- [intercept, log sigma_beta,
log beta (or log beta_raw) x C, gamma x J, log sigma, (log nu)]; positive parameters use the
log transform with its Jacobian, exactly as PyMC, so `tests/test_backends.py` checks logp and
gradient against the PyMC graph built from the structure's equations.

Data buffer (model/native_support.py): structure header slots below, then X_channels (T x C,
row-major), X_controls (T x J) and y (T).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np

from mmm_runner.config.schema import ModelConfig, value_of
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.native_support import (
    HEADER,
    LOGP_SIGNATURE,
    N_DIM,
    NativeDensity,
    assemble_buffer,
    data_view,
    layout_of,
)
from mmm_runner.model.native_terms import (
    student_t_constants,
)
from mmm_runner.model.parameters import Parameter

# structure header slots
T_, C_, J_, STUDENT_T, CENTERED = 0, 1, 2, 3, 4
INTERCEPT_MU, INTERCEPT_SD, SIGMA_BETA_SD, GAMMA_MU, GAMMA_SD, SIGMA_SD, NU_LAM = range(5, 12)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
LOG_2 = math.log(2.0)


@numba.njit(cache=True)
def logp_and_grad(x: np.ndarray, grad: np.ndarray, data: np.ndarray) -> float:
    """Log density at unconstrained `x`; writes its gradient into `grad`."""
    n_t, n_c, n_j = int(data[T_]), int(data[C_]), int(data[J_])
    student = data[STUDENT_T] > 0.5
    centered = data[CENTERED] > 0.5
    x_off = HEADER
    z_off = x_off + n_t * n_c
    y_off = z_off + n_t * n_j
    i_gamma = 2 + n_c
    i_sigma = i_gamma + n_j

    for k in range(grad.shape[0]):
        grad[k] = 0.0
    intercept = x[0]
    sigma_beta = math.exp(x[1])
    sigma = math.exp(x[i_sigma])
    nu = math.exp(x[i_sigma + 1]) if student else 0.0

    beta = np.empty(n_c)
    for c in range(n_c):
        positive = math.exp(x[2 + c])
        beta[c] = positive if centered else sigma_beta * positive

    # priors (with normalising constants and log-Jacobians)
    lp = 0.0
    m0, s0 = data[INTERCEPT_MU], data[INTERCEPT_SD]
    lp += -0.5 * ((intercept - m0) / s0) ** 2 - math.log(s0) - HALF_LOG_2PI
    grad[0] += -(intercept - m0) / (s0 * s0)
    sb_sd = data[SIGMA_BETA_SD]
    lp += LOG_2 - HALF_LOG_2PI - math.log(sb_sd) - 0.5 * (sigma_beta / sb_sd) ** 2 + x[1]
    grad[1] += -((sigma_beta / sb_sd) ** 2) + 1.0
    for c in range(n_c):
        if centered:  # beta ~ HalfNormal(sigma_beta)
            ratio = beta[c] / sigma_beta
            lp += LOG_2 - HALF_LOG_2PI - x[1] - 0.5 * ratio * ratio + x[2 + c]
            grad[2 + c] += -ratio * ratio + 1.0
            grad[1] += -1.0 + ratio * ratio
        else:  # beta_raw ~ HalfNormal(1), beta = sigma_beta * beta_raw
            raw = math.exp(x[2 + c])
            lp += LOG_2 - HALF_LOG_2PI - 0.5 * raw * raw + x[2 + c]
            grad[2 + c] += -raw * raw + 1.0
    g_mu, g_sd = data[GAMMA_MU], data[GAMMA_SD]
    for j in range(n_j):
        g = x[i_gamma + j]
        lp += -0.5 * ((g - g_mu) / g_sd) ** 2 - math.log(g_sd) - HALF_LOG_2PI
        grad[i_gamma + j] += -(g - g_mu) / (g_sd * g_sd)
    s_sd = data[SIGMA_SD]
    lp += LOG_2 - HALF_LOG_2PI - math.log(s_sd) - 0.5 * (sigma / s_sd) ** 2 + x[i_sigma]
    grad[i_sigma] += -((sigma / s_sd) ** 2) + 1.0
    if student:
        lam = data[NU_LAM]
        lp += math.log(lam) - lam * nu + x[i_sigma + 1]
        grad[i_sigma + 1] += -lam * nu + 1.0

    # likelihood
    d_beta = np.zeros(n_c)
    d_log_sigma = 0.0
    d_nu = 0.0
    if student:
        const, d_const = student_t_constants(nu)
    for t in range(n_t):
        mu = intercept
        for c in range(n_c):
            mu += data[x_off + t * n_c + c] * beta[c]
        for j in range(n_j):
            mu += data[z_off + t * n_j + j] * x[i_gamma + j]
        r = (data[y_off + t] - mu) / sigma
        r2 = r * r
        if student:
            lp += const - math.log(sigma) - 0.5 * (nu + 1.0) * math.log1p(r2 / nu)
            w = (nu + 1.0) / (nu + r2)
            d_mu = w * r / sigma
            d_log_sigma += -1.0 + w * r2
            d_nu += d_const - 0.5 * math.log1p(r2 / nu) + 0.5 * (nu + 1.0) * r2 / (nu * (nu + r2))
        else:
            lp += -0.5 * r2 - math.log(sigma) - HALF_LOG_2PI
            d_mu = r / sigma
            d_log_sigma += -1.0 + r2
        grad[0] += d_mu
        for c in range(n_c):
            d_beta[c] += d_mu * data[x_off + t * n_c + c]
        for j in range(n_j):
            grad[i_gamma + j] += d_mu * data[z_off + t * n_j + j]
    for c in range(n_c):
        grad[2 + c] += d_beta[c] * beta[c]  # d beta / d log(.) = beta in both forms
        if not centered:
            grad[1] += d_beta[c] * beta[c]
    grad[i_sigma] += d_log_sigma
    if student:
        grad[i_sigma + 1] += d_nu * nu
    return lp


@numba.cfunc(LOGP_SIGNATURE, cache=True)
def logp_callback(dim, x_ptr, grad_ptr, logp_ptr, user_data):  # type: ignore[no-untyped-def]
    data = data_view(user_data)
    if dim != int(data[N_DIM]):
        return -1
    x = numba.carray(x_ptr, (dim,))
    grad = numba.carray(grad_ptr, (dim,))
    logp = numba.carray(logp_ptr, (1,))
    value = logp_and_grad(x, grad, data)
    logp[0] = value
    if not math.isfinite(value):
        return 4
    for k in range(dim):
        if not math.isfinite(grad[k]):
            return 3
    return 0


def native_data(
    features: FeatureSet,
    model_cfg: ModelConfig,
    priors: dict[str, dict[str, float]],
    parameters: Sequence[Parameter],
    dim_sizes: dict[str, int],
) -> np.ndarray:
    """The float64 buffer `logp_and_grad` reads."""
    header = np.zeros(HEADER)
    n_t, n_c = features.x_channels.shape
    n_j = features.x_controls.shape[1]
    header[[T_, C_, J_]] = n_t, n_c, n_j
    header[STUDENT_T] = value_of(model_cfg.likelihood) == "StudentT"
    header[CENTERED] = value_of(model_cfg.beta_parametrization) == "centered"
    header[INTERCEPT_MU] = priors["intercept"]["mu"]
    header[INTERCEPT_SD] = priors["intercept"]["sigma"]
    header[SIGMA_BETA_SD] = priors["sigma_beta"]["sigma"]
    header[GAMMA_MU] = priors["gamma"]["mu"]
    header[GAMMA_SD] = priors["gamma"]["sigma"]
    header[SIGMA_SD] = priors["sigma"]["sigma"]
    header[NU_LAM] = priors["nu"]["lam"] if "nu" in priors else 0.0
    body = [features.x_channels, features.x_controls, features.target_log_centered]
    return assemble_buffer(header, body, parameters, dim_sizes)


def density(
    features: FeatureSet,
    model_cfg: ModelConfig,
    priors: dict[str, dict[str, float]],
    parameters: Sequence[Parameter],
    dim_sizes: dict[str, int],
) -> NativeDensity:
    """The native density with PyMC's start: the prior's central point (jittered by NUTS)."""
    data = native_data(features, model_cfg, priors, parameters, dim_sizes)
    n_c, n_j = dim_sizes["channel"], dim_sizes["control"]
    center = np.zeros(int(data[N_DIM]))
    center[1] = np.log(priors["sigma_beta"]["sigma"] * 0.5)
    center[2 : 2 + n_c] = center[1]
    sigma_at = 2 + n_c + n_j
    center[sigma_at] = np.log(0.1)
    if center.size > sigma_at + 1:
        center[sigma_at + 1] = np.log(10.0)
    return NativeDensity(logp_callback, data, layout_of(parameters, dim_sizes), center)
