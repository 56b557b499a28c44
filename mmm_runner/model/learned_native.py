"""The learned structures' log density and gradient, hand-derived, as a cached numba callback.

Serves `learned` and `additive` alike: they differ only in the observed target (log1p-centred or
scaled by the mean), which arrives in the buffer. Equations: model/media.py and learned.py;
`tests/test_structure_learned.py` checks logp and gradient against the PyMC graph's autodiff.

Each channel's h is z-scored over the buffer's periods (the training window), as
`LearnedStructure.mean` does. The pieces are native_terms', shared with the entity density:
`centre` and `z_gradient` for the z-score, `observation` for the likelihood, and `media_path`,
which runs adstock as the recursion
y[t] = x[t] + d y[t-1] - d^(L+1) x[t-L-1] (the truncated sum sum_l d^l x[t-l], O(T) instead of
O(T L)), then a = y / W with W = sum_l d^l; so
    da/dd = (dy/dd) / W - y W' / W^2,   dy[t]/dd = y[t-1] + d dy[t-1]/dd - (L+1) d^L x[t-L-1]
    hill:     dh/da = S h (1 - h) / a,  dh/dK = -S h (1 - h) / K,  dh/dS = h (1 - h) log(a / K)
    logistic: dh/da = lam (1 - h^2) / 2,  dh/dK = -a lam (1 - h^2) / (2 K),  lam = ln 3 / K
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numba
import numpy as np

from mmm_runner.config.schema import ModelConfig, value_of
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.media import SATURATION_CODES
from mmm_runner.model.native_support import (
    HEADER,
    LOGP_SIGNATURE,
    N_DIM,
    NativeDensity,
    assemble_buffer,
    data_view,
    layout_of,
    prior_centre,
    prior_logp,
    prior_table,
)
from mmm_runner.model.native_terms import (
    adstock_recursion,
    centre,
    media_path,
    observation,
    student_t_constants,
    z_gradient,
)
from mmm_runner.model.parameters import Parameter

if TYPE_CHECKING:
    from mmm_runner.model.learned import LearnedStructure

# structure header slots; I_* are coordinates in the unconstrained vector (-1: absent)
T_, C_, J_, L_, STUDENT_T, CENTERED, FAMILY, S_FIXED = range(8)
I_INTERCEPT, I_SIGMA_BETA, I_BETA, I_DECAY, I_K, I_SLOPE, I_GAMMA, I_SIGMA, I_NU = range(8, 17)
MEDIA_AT, Z_AT, Y_AT, PRIORS_AT = range(17, 21)


# error_model="numpy": a division by an underflowed scale gives inf/nan (a rejected point, as
# in PyMC) instead of raising inside nutpie's callback.
@numba.njit(cache=True, error_model="numpy")
def logp_and_grad(x: np.ndarray, grad: np.ndarray, data: np.ndarray) -> float:
    """Log density at unconstrained `x`; writes its gradient into `grad`."""
    n_t, n_c, n_j, n_l = int(data[T_]), int(data[C_]), int(data[J_]), int(data[L_]) + 1
    student, centered = data[STUDENT_T] > 0.5, data[CENTERED] > 0.5
    family = int(data[FAMILY])
    i_beta, i_decay, i_k = int(data[I_BETA]), int(data[I_DECAY]), int(data[I_K])
    i_slope, i_gamma, i_sigma, i_nu = (
        int(data[I_SLOPE]), int(data[I_GAMMA]), int(data[I_SIGMA]), int(data[I_NU])
    )  # fmt: skip
    media_at, z_at, y_at = int(data[MEDIA_AT]), int(data[Z_AT]), int(data[Y_AT])
    n_dim = x.shape[0]
    for k in range(n_dim):
        grad[k] = 0.0
    rows = data[int(data[PRIORS_AT]) : int(data[PRIORS_AT]) + 3 * n_dim].reshape((n_dim, 3))
    lp = prior_logp(x, grad, rows)

    intercept = x[int(data[I_INTERCEPT])]
    sigma_beta = math.exp(x[int(data[I_SIGMA_BETA])])
    sigma = math.exp(x[i_sigma])
    nu = math.exp(x[i_nu]) if student else 0.0

    # media block: h[c, t] and its derivatives dh[c, q, t] by decay, K and slope (q = 0, 1, 2),
    # then each channel's h centred over the (training) periods: z = h / sd
    n_q = 3 if i_slope >= 0 else 2  # derivatives of h kept: decay, K (and slope)
    h = np.empty((n_c, n_t))
    dh = np.empty((n_c, 3, n_t))  # rows q < n_q are written before read
    beta, decay, k_c, s_c = np.empty(n_c), np.empty(n_c), np.empty(n_c), np.empty(n_c)
    spread = np.empty(n_c)
    d_mean = np.zeros((n_c, 3))  # mean of dh/d(decay, K, slope)
    d_cov = np.zeros((n_c, 3))  # mean of (h - mean h) * dh/d(.)
    for c in range(n_c):
        positive = math.exp(x[i_beta + c])
        beta[c] = positive if centered else sigma_beta * positive
        d = 1.0 / (1.0 + math.exp(-x[i_decay + c]))
        w, dw, d_last, dd_last = adstock_recursion(d, n_l)
        decay[c] = d
        k_c[c] = math.exp(x[i_k + c]) if i_k >= 0 else 1.0
        s_c[c] = math.exp(x[i_slope + c]) if i_slope >= 0 else data[S_FIXED]
        media_path(
            data, media_at + c, n_c, n_t, n_l, family, i_slope >= 0,
            d, w, dw, d_last, dd_last, k_c[c], s_c[c], h[c], dh[c],
        )  # fmt: skip
        spread[c] = centre(h[c], dh[c], n_q, d_mean[c], d_cov[c])

    # likelihood: mu[t] = intercept + sum_c beta_c z[c, t] + z_controls[t] . gamma
    const, d_const = student_t_constants(nu) if student else (0.0, 0.0)
    inv_sigma, log_sigma = 1.0 / sigma, math.log(sigma)
    inv_nu = 1.0 / nu if student else 0.0
    coef = np.empty(n_c)
    for c in range(n_c):
        coef[c] = beta[c] / spread[c]
    d_mu_all = np.empty(n_t)
    d_mu_total = 0.0
    d_log_sigma, d_nu = 0.0, 0.0
    for t in range(n_t):
        mu = intercept
        for c in range(n_c):
            mu += coef[c] * h[c, t]
        for j in range(n_j):
            mu += data[z_at + t * n_j + j] * x[i_gamma + j]
        point, d_mu, d_sigma_term, d_nu_term = observation(
            data[y_at + t] - mu, inv_sigma, log_sigma, student, nu, inv_nu, const, d_const
        )
        lp += point
        d_log_sigma += d_sigma_term
        d_nu += d_nu_term
        d_mu_all[t] = d_mu
        d_mu_total += d_mu
        for j in range(n_j):
            grad[i_gamma + j] += d_mu * data[z_at + t * n_j + j]
    grad[int(data[I_INTERCEPT])] += d_mu_total

    g = np.zeros(3)
    for c in range(n_c):
        sd = spread[c]
        g_centred = z_gradient(h[c], dh[c], n_q, sd, d_mean[c], d_cov[c], d_mu_all, d_mu_total, g)
        g_beta = g_centred / sd
        grad[i_beta + c] += g_beta * beta[c]  # d beta / d log(.) = beta in both forms
        if not centered:
            grad[int(data[I_SIGMA_BETA])] += g_beta * beta[c]
        grad[i_decay + c] += beta[c] * g[0] * decay[c] * (1.0 - decay[c])
        if i_k >= 0:
            grad[i_k + c] += beta[c] * g[1] * k_c[c]
        if i_slope >= 0:
            grad[i_slope + c] += beta[c] * g[2] * s_c[c]
    grad[i_sigma] += d_log_sigma
    if student:
        grad[i_nu] += d_nu * nu
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


def density(
    structure: LearnedStructure,
    features: FeatureSet,
    model_cfg: ModelConfig,
    parameters: Sequence[Parameter],
) -> NativeDensity | None:
    """The native density, or None when a prior is outside the native families."""
    sizes = structure.dim_sizes(features)
    specs = [structure.prior(p, model_cfg, features) for p in parameters]
    rows = prior_table(parameters, specs, sizes)
    if rows is None:
        return None
    starts, at = {}, 0
    for param in parameters:
        starts[param.name] = at
        at += param.size(sizes)
    recipe = structure.recipe
    media = np.ascontiguousarray(features.media_scaled)  # (T, C); adstock by recursion
    n_t, n_c = features.media_scaled.shape
    n_j = features.x_controls.shape[1]
    header = np.full(HEADER, -1.0)
    header[[T_, C_, J_, L_]] = n_t, n_c, n_j, recipe.max_lag
    header[STUDENT_T] = value_of(model_cfg.likelihood) == "StudentT"
    header[CENTERED] = "beta" in starts
    header[FAMILY] = SATURATION_CODES[recipe.family]
    header[S_FIXED] = recipe.slope
    slots = {
        I_INTERCEPT: "intercept", I_SIGMA_BETA: "sigma_beta", I_DECAY: "decay",
        I_K: "half_saturation", I_SLOPE: "slope", I_GAMMA: "gamma", I_SIGMA: "sigma", I_NU: "nu",
    }  # fmt: skip
    for slot, name in slots.items():
        header[slot] = starts.get(name, -1)
    header[I_BETA] = starts["beta"] if "beta" in starts else starts["beta_raw"]
    header[I_GAMMA] = starts["gamma"]  # present even when empty (J = 0)
    body = [media, features.x_controls, structure.observed(features), rows]
    header[MEDIA_AT] = HEADER
    header[Z_AT] = HEADER + media.size
    header[Y_AT] = header[Z_AT] + features.x_controls.size
    header[PRIORS_AT] = header[Y_AT] + n_t
    data = assemble_buffer(header, body, parameters, sizes)
    center = prior_centre(parameters, specs, sizes)  # the prior's centre, unconstrained
    return NativeDensity(logp_callback, data, layout_of(parameters, sizes), center)
