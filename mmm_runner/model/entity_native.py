"""The entity structure's log density and gradient, hand-derived, as a cached numba callback.

`model.level=entity` (model/entity.py) with a centred beta: per entity e and channel c the media
block of learned_native.py (adstock by recursion, Hill/logistic saturation, z-scored over the
entity's periods) with the shared decay_c, K_c (and slope_c), and the pooled effect
    beta[e, c] = beta[c] exp(tau[c] beta_z[e, c])
so, with G[e, c] = d logp / d beta[e, c] (the learned density's g_beta, per entity):
    d / d log beta[c] = sum_e G beta[e, c]        d / d log tau[c] = sum_e G beta[e, c] tau z
    d / d beta_z[e, c] = G beta[e, c] tau[c]
for a non-centred channel (entity_effect = beta_z); a centred one samples entity_effect =
log beta[e, c] with its Normal(log beta[c], tau[c]) prior here (d / d log beta[e, c] = G beta).
The per-channel choice is a mask in the buffer (model/entity.py, `choose_parametrization`).
`tests/test_entity.py` checks logp and gradient against the PyMC graph's autodiff.
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
    HALF_LOG_2PI,
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
    from mmm_runner.model.entity import EntityStructure

# structure header slots; I_* are coordinates in the unconstrained vector (-1: absent)
E_, T_, C_, J_, L_, STUDENT_T, FAMILY, S_FIXED, GAMMA_BY_ENTITY, MASK_AT = range(10)
I_INTERCEPT, I_BETA, I_TAU, I_Z, I_DECAY, I_K, I_SLOPE, I_GAMMA, I_SIGMA, I_NU = range(10, 20)
MEDIA_AT, X_AT, Y_AT, PRIORS_AT = range(20, 24)


@numba.njit(cache=True, error_model="numpy")
def logp_and_grad(x: np.ndarray, grad: np.ndarray, data: np.ndarray) -> float:
    """Log density at unconstrained `x`; writes its gradient into `grad`."""
    n_e, n_t, n_c = int(data[E_]), int(data[T_]), int(data[C_])
    n_j, n_l = int(data[J_]), int(data[L_]) + 1
    student, family = data[STUDENT_T] > 0.5, int(data[FAMILY])
    by_entity, mask_at = data[GAMMA_BY_ENTITY] > 0.5, int(data[MASK_AT])
    i_icpt, i_beta, i_tau, i_z = (
        int(data[I_INTERCEPT]),
        int(data[I_BETA]),
        int(data[I_TAU]),
        int(data[I_Z]),
    )
    i_decay, i_k, i_slope = int(data[I_DECAY]), int(data[I_K]), int(data[I_SLOPE])
    i_gamma, i_sigma, i_nu = int(data[I_GAMMA]), int(data[I_SIGMA]), int(data[I_NU])
    media_at, x_at, y_at = int(data[MEDIA_AT]), int(data[X_AT]), int(data[Y_AT])
    n_dim = x.shape[0]
    for k in range(n_dim):
        grad[k] = 0.0
    rows = data[int(data[PRIORS_AT]) : int(data[PRIORS_AT]) + 3 * n_dim].reshape((n_dim, 3))
    lp = prior_logp(x, grad, rows)
    sigma = math.exp(x[i_sigma])
    nu = math.exp(x[i_nu]) if student else 0.0
    n_q = 3 if i_slope >= 0 else 2  # derivatives of h kept: decay, K (and slope)

    # shared per channel: decay, the normalising sum W and W', K, slope
    decay, total, dtotal = np.empty(n_c), np.empty(n_c), np.empty(n_c)
    d_last, dd_last, k_c, s_c = np.empty(n_c), np.empty(n_c), np.empty(n_c), np.empty(n_c)
    for c in range(n_c):
        d = 1.0 / (1.0 + math.exp(-x[i_decay + c]))
        decay[c] = d
        total[c], dtotal[c], d_last[c], dd_last[c] = adstock_recursion(d, n_l)
        k_c[c] = math.exp(x[i_k + c]) if i_k >= 0 else 1.0
        s_c[c] = math.exp(x[i_slope + c]) if i_slope >= 0 else data[S_FIXED]

    # per entity and channel: h[t] - mean and dh[q, t], then the z-score's moments
    z_term = np.zeros((n_e, n_t))  # sum_c beta[e, c] z[e, t, c]
    beta_e = np.empty((n_e, n_c))
    spread = np.empty((n_e, n_c))
    d_mean = np.zeros((n_e, n_c, 3))
    d_cov = np.zeros((n_e, n_c, 3))
    h_all = np.empty((n_e, n_c, n_t))
    dh_all = np.empty((n_e, n_c, 3, n_t))  # rows q < n_q are written before read
    for e in range(n_e):
        for c in range(n_c):
            u = x[i_z + e * n_c + c]  # log beta[e, c] (centred) or beta_z
            if data[mask_at + c] > 0.5:  # centred: log beta[e, c] ~ Normal(log beta[c], tau[c])
                tau = math.exp(x[i_tau + c])
                r = (u - x[i_beta + c]) / tau
                lp += -0.5 * r * r - math.log(tau) - HALF_LOG_2PI
                grad[i_z + e * n_c + c] -= r / tau
                grad[i_beta + c] += r / tau
                grad[i_tau + c] += r * r - 1.0
                beta_e[e, c] = math.exp(u)
            else:
                beta_e[e, c] = math.exp(x[i_beta + c] + math.exp(x[i_tau + c]) * u)
            h, dh = h_all[e, c], dh_all[e, c]
            media_path(
                data, media_at + e * n_t * n_c + c, n_c, n_t, n_l, family, i_slope >= 0,
                decay[c], total[c], dtotal[c], d_last[c], dd_last[c], k_c[c], s_c[c], h, dh,
            )  # fmt: skip
            sd = centre(h, dh, n_q, d_mean[e, c], d_cov[e, c])
            spread[e, c] = sd
            weight = beta_e[e, c] / sd
            for t in range(n_t):
                z_term[e, t] += weight * h[t]

    # likelihood
    const, d_const = student_t_constants(nu) if student else (0.0, 0.0)
    d_log_sigma, d_nu = 0.0, 0.0
    inv_sigma, log_sigma = 1.0 / sigma, math.log(sigma)
    inv_nu = 1.0 / nu if student else 0.0
    d_mu_all = np.empty((n_e, n_t))
    for e in range(n_e):
        g_row = i_gamma + (e * n_j if by_entity else 0)
        for t in range(n_t):
            mu = x[i_icpt + e] + z_term[e, t]
            row = x_at + (e * n_t + t) * n_j
            for j in range(n_j):
                mu += data[row + j] * x[g_row + j]
            point, d_mu, d_sigma_term, d_nu_term = observation(
                data[y_at + e * n_t + t] - mu, inv_sigma, log_sigma, student, nu, inv_nu,
                const, d_const,
            )  # fmt: skip
            lp += point
            d_log_sigma += d_sigma_term
            d_nu += d_nu_term
            d_mu_all[e, t] = d_mu
            grad[i_icpt + e] += d_mu
            for j in range(n_j):
                grad[g_row + j] += d_mu * data[row + j]

    g_q = np.zeros(3)
    for e in range(n_e):
        d_mu_total = 0.0
        for t in range(n_t):
            d_mu_total += d_mu_all[e, t]
        for c in range(n_c):
            sd = spread[e, c]
            g_centred = z_gradient(
                h_all[e, c], dh_all[e, c], n_q, sd, d_mean[e, c], d_cov[e, c], d_mu_all[e],
                d_mu_total, g_q,
            )  # fmt: skip
            b = beta_e[e, c]
            g_b = g_centred / sd * b  # d logp / d log beta[e, c]
            if data[mask_at + c] > 0.5:
                grad[i_z + e * n_c + c] += g_b
            else:
                tau = math.exp(x[i_tau + c])
                grad[i_beta + c] += g_b
                grad[i_tau + c] += g_b * tau * x[i_z + e * n_c + c]
                grad[i_z + e * n_c + c] += g_b * tau
            d = decay[c]
            grad[i_decay + c] += b * g_q[0] * d * (1.0 - d)
            if i_k >= 0:
                grad[i_k + c] += b * g_q[1] * k_c[c]
            if i_slope >= 0:
                grad[i_slope + c] += b * g_q[2] * s_c[c]
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
    structure: EntityStructure,
    features: FeatureSet,
    model_cfg: ModelConfig,
    parameters: Sequence[Parameter],
) -> NativeDensity | None:
    """The native density, or None when a prior is outside the native families."""
    names = [p.name for p in parameters]
    if "beta" not in names:  # non-centred beta: the PyMC graph
        return None
    sizes = structure.dim_sizes(features)
    specs = [structure.prior(p, model_cfg, features) for p in parameters]
    rows = prior_table(parameters, specs, sizes)
    if rows is None:
        return None
    starts, at = {}, 0
    for param in parameters:
        starts[param.name] = at
        at += param.size(sizes)
    n_e, n_c = sizes["entity"], sizes["channel"]
    mask = structure.centred_mask(n_c)
    effects = slice(starts["entity_effect"], starts["entity_effect"] + n_e * n_c)
    # a centred channel's Normal(log beta[c], tau[c]) is in the density itself, not the table
    rows[effects] *= 1.0 - np.tile(mask, n_e)[:, None]
    panel = features.panel
    recipe = structure.recipe
    media = np.ascontiguousarray(panel.media_scaled)  # (E, T, C); adstock by recursion
    n_t = media.shape[1]
    controls = np.ascontiguousarray(panel.x_controls)  # (E, T, J)
    header = np.full(HEADER, -1.0)
    header[[E_, T_, C_, J_, L_]] = n_e, n_t, n_c, controls.shape[2], recipe.max_lag
    header[STUDENT_T] = value_of(model_cfg.likelihood) == "StudentT"
    header[FAMILY] = SATURATION_CODES[recipe.family]
    header[S_FIXED] = recipe.slope
    header[GAMMA_BY_ENTITY] = structure.controls_by_entity
    slots = {
        I_INTERCEPT: "intercept", I_BETA: "beta", I_TAU: "tau", I_DECAY: "decay",
        I_K: "half_saturation", I_SLOPE: "slope", I_GAMMA: "gamma", I_SIGMA: "sigma", I_NU: "nu",
    }  # fmt: skip
    for slot, name in slots.items():
        header[slot] = starts.get(name, -1)
    header[I_Z] = starts["entity_effect"]
    observed = structure.observed(features)
    body = [media, controls, observed, rows, mask]
    header[MEDIA_AT] = HEADER
    header[X_AT] = HEADER + media.size
    header[Y_AT] = header[X_AT] + controls.size
    header[PRIORS_AT] = header[Y_AT] + observed.size
    header[MASK_AT] = header[PRIORS_AT] + rows.size
    data = assemble_buffer(header, body, parameters, sizes)
    centre = prior_centre(parameters, specs, sizes)
    # a centred entity's log effect starts at the channel effect's (log beta: unconstrained)
    start = np.tile(centre[starts["beta"] : starts["beta"] + n_c], n_e)
    centre[effects] = np.where(np.tile(mask, n_e) > 0, start, centre[effects])
    return NativeDensity(logp_callback, data, layout_of(parameters, sizes), centre)
