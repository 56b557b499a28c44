"""PSIS-LOO over every observation at once: `arviz.loo(pointwise=True)`'s numbers, batched.

arviz smooths each observation's importance weights in a Python loop (about 1.5 ms each): an
entity panel's 7,800 observations took over ten seconds. Here sorting, the generalized Pareto
fit and the log-sum-exps run over all observations together, each step with arviz's operations
along the same axis, so the results are bit for bit arviz's (tests/test_convergence.py).
Observations outside the common case (ties at the tail cutoff, a failed or degenerate Pareto
fit) go through arviz's own per-observation function. Observations go in blocks (see
`parameters.row_blocks`): all of a panel's at once meant gigabyte temporaries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmm_runner.analysis.convergence import Diagnostics, by_variable, joined
from mmm_runner.model.parameters import row_blocks

PRIOR_BS, PRIOR_K = 3, 10  # arviz's _gpdfit constants
CUTOFF_MIN = np.log(np.finfo(float).tiny)
EPS = np.finfo(float).eps
CHUNK = 256  # observations per Pareto fit batch: (rows, grid, tail) temporaries


def loo(idata: Any, per_var: dict[str, Diagnostics] | None = None) -> dict[str, Any]:
    """elpd_loo, se, p_loo, n_samples, pointwise loo_i and Pareto k, as arviz.loo gives them.

    `per_var`: `convergence.by_variable` of (some of) the posterior, when the caller has it."""
    (values,) = [v.values for v in idata.log_likelihood.data_vars.values()]
    n_chain, n_draw = values.shape[:2]
    n_samples = n_chain * n_draw
    by_sample = values.reshape(n_samples, -1)
    posterior = idata.posterior
    if n_chain == 1:
        reff = 1.0
    else:  # arviz: mean ESS ("mean" method) over every posterior element, per sample
        names = list(posterior.data_vars)
        known = dict(per_var or {})
        known.update(by_variable(posterior, [n for n in names if n not in known]))
        reff = joined(known, names).ess_mean.mean() / n_samples
    n_points = by_sample.shape[1]
    loo_i, pareto_k, lppd_i = np.empty(n_points), np.empty(n_points), np.empty(n_points)
    for rows in row_blocks(n_points, n_samples):  # every step is per observation: blocks of them
        log_lik = np.ascontiguousarray(by_sample[:, rows].T)  # (points, samples)
        log_weights, pareto_k[rows] = _psislw(-log_lik, reff)
        log_weights += log_lik
        loo_i[rows] = _logsumexp(log_weights)
        top = log_lik.max(axis=-1)
        lppd_i[rows] = np.log(np.exp(log_lik - top[:, None]).sum(axis=-1)) + (
            top - np.log(n_samples)
        )
    elpd = loo_i.sum()
    se = (n_points * np.var(loo_i)) ** 0.5
    lppd = np.sum(lppd_i)
    return {
        "elpd_loo": float(elpd),
        "se": float(se),
        "p_loo": float(lppd - elpd),
        "n_samples": int(n_samples),
        "pareto_k": pareto_k.tolist(),
        "loo_i": loo_i.tolist(),
    }


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """arviz's `_logsumexp` of each row."""
    top = x.max(axis=-1)
    return np.log(np.exp(x - top[:, None]).sum(axis=-1)) + top


def _psislw(x: np.ndarray, reff: float) -> tuple[np.ndarray, np.ndarray]:
    """arviz's `psislw` (normalized) of each row of `x`, in place; returns it and Pareto k."""
    n_points, n_samples = x.shape
    cutoff_ind = -int(np.ceil(min(n_samples / 5.0, 3 * (n_samples / reff) ** 0.5))) - 1
    tail_len = -cutoff_ind - 1
    x -= x.max(axis=-1)[:, None]
    cut = np.partition(x, n_samples + cutoff_ind, axis=-1)[:, n_samples + cutoff_ind]
    xcutoff = np.where(cut < CUTOFF_MIN, CUTOFF_MIN, cut)  # max(cut, cutoffmin)
    in_tail = x > xcutoff[:, None]
    common = in_tail.sum(axis=-1) == tail_len
    if tail_len <= 4:
        common[:] = False
    k = np.full(n_points, np.inf)
    for start in range(0, n_points, CHUNK):
        rows = np.flatnonzero(common[start : start + CHUNK]) + start
        if len(rows):
            done = _smooth(x, rows, in_tail[rows], xcutoff[rows], tail_len, k)
            common[rows[~done]] = False
    for row in np.flatnonzero(~common):
        x[row], k[row] = _arviz_row(x[row], cutoff_ind)
    x -= _logsumexp(x)[:, None]
    return x, k


def _smooth(
    x: np.ndarray,
    rows: np.ndarray,
    in_tail: np.ndarray,
    xcutoff: np.ndarray,
    tail_len: int,
    k_out: np.ndarray,
) -> np.ndarray:
    """Pareto-smooth the tails of `rows` of x in place; False where arviz's own code must."""
    block = x[rows]
    tail_index = np.nonzero(in_tail)[1].reshape(len(rows), tail_len)
    tail = np.take_along_axis(block, tail_index, axis=-1)
    order = np.argsort(tail, axis=-1)
    expcut = np.exp(xcutoff)
    shifted = np.exp(tail) - expcut[:, None]
    k, sigma = _gpdfit(np.take_along_axis(shifted, order, axis=-1))
    done = np.isfinite(k) & (sigma > 0) & (np.abs(k) >= EPS)
    if not done.any():
        return done
    kd, sd = k[done], sigma[done]
    probs = np.arange(0.5, tail_len) / tail_len
    smoothed = np.expm1(-kd[:, None] * np.log1p(-probs)) / kd[:, None]
    smoothed *= sd[:, None]
    smoothed = np.log(smoothed + expcut[done, None])
    target = np.take_along_axis(tail_index[done], order[done], axis=-1)
    smoothed_block = block[done]
    np.put_along_axis(smoothed_block, target, smoothed, axis=-1)
    smoothed_block[smoothed_block > 0] = 0
    x[rows[done]] = smoothed_block
    k_out[rows[done]] = kd
    return done


def _gpdfit(ary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """arviz's `_gpdfit` for each row of sorted tail values (R, n): (k, sigma)."""
    n_rows, n = ary.shape
    m_est = 30 + int(n**0.5)
    b_ary = 1 - np.sqrt(m_est / (np.arange(1, m_est + 1, dtype=float) - 0.5))
    b_ary = b_ary / (PRIOR_BS * ary[:, int(n / 4 + 0.5) - 1])[:, None]
    b_ary += (1 / ary[:, -1])[:, None]
    k_ary = np.log1p(-b_ary[:, :, None] * ary[:, None, :]).mean(axis=-1)
    len_scale = n * (np.log(-(b_ary / k_ary)) - k_ary - 1)
    weights = 1 / np.exp(len_scale[:, None, :] - len_scale[:, :, None]).sum(axis=-1)
    real = weights >= 10 * EPS
    b_post = np.empty(n_rows)
    counts = real.sum(axis=-1)
    for count in np.unique(counts):  # rows keeping as many grid points: sums of that length
        rows = counts == count
        kept_w = weights[rows][real[rows]].reshape(-1, count)
        kept_b = b_ary[rows][real[rows]].reshape(-1, count)
        kept_w /= kept_w.sum(axis=-1)[:, None]
        b_post[rows] = (kept_b * kept_w).sum(axis=-1)
    k_post = np.log1p(-b_post[:, None] * ary).mean(axis=-1)
    sigma = -k_post / b_post
    k_post = (n * k_post + PRIOR_K * 0.5) / (n + PRIOR_K)
    return k_post, sigma


def _arviz_row(row: np.ndarray, cutoff_ind: int) -> tuple[np.ndarray, float]:
    """One observation through arviz's `_psislw`, unnormalized (the caller normalizes)."""
    from arviz.stats.stats import _psislw as arviz_psislw

    smoothed, k = arviz_psislw(row.copy(), cutoff_ind, CUTOFF_MIN, normalize=False)
    return smoothed, k
