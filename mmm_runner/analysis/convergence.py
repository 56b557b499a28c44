"""R-hat, ESS and MCSE of every posterior element at once: arviz.summary's numbers, batched.

arviz computes them one element at a time (about 12 ms each, mostly Python overhead), so an
entity run's 560 elements cost seconds. Here the array work (split chains, ranks, quantiles,
FFT autocovariances, means) runs over all elements together with the same operations along the
same axes, and the few scalar steps of each element are arviz's own expressions: the numbers
are bit for bit those of `arviz.summary` (tests/test_convergence.py holds it to that). arviz's
between-chain variance is a numba loop (`stats_variance_1d`): it is repeated here as the same
sequential sums, which also spares each process that function's JIT compile.

Elements outside the common case (a NaN, fewer than 2 chains or 8 draws, a constant draw
series) are left to arviz's own per-element code.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy import stats
from scipy.fft import next_fast_len

RESOLUTION = np.finfo(float).resolution  # arviz: a series this flat has ESS = its size
RANK_OFFSET = 3 / 8  # arviz's rank-normalisation constant
CHUNK = 128  # elements per batch: bounds the temporaries (5 x chains x draws each)


@dataclass(frozen=True)
class Diagnostics:
    """Per element (rows in `elements` order): arviz.summary's diagnostic columns."""

    mcse_mean: np.ndarray
    mcse_sd: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    r_hat: np.ndarray
    ess_mean: np.ndarray  # `arviz.ess(method="mean")`: LOO's relative efficiency uses it


def by_variable(posterior: Any, var_names: list[str]) -> dict[str, Diagnostics]:
    """`diagnostics` of every element of `var_names`, split per variable (flattened, C order)."""
    table = diagnostics(elements(posterior, var_names))
    out, start = {}, 0
    for name in var_names:
        size = int(np.prod(posterior[name].shape[2:], dtype=int))
        rows = slice(start, start + size)
        out[name] = Diagnostics(*(getattr(table, f.name)[rows] for f in fields(Diagnostics)))
        start += size
    return out


def joined(per_var: dict[str, Diagnostics], var_names: list[str]) -> Diagnostics:
    """The rows of `var_names`, in that order, as one `Diagnostics`."""
    return Diagnostics(
        *(
            np.concatenate([getattr(per_var[n], f.name) for n in var_names] or [np.zeros(0)])
            for f in fields(Diagnostics)
        )
    )


def elements(posterior: Any, var_names: list[str]) -> np.ndarray:
    """(N, chain, draw) every scalar element of `var_names`, in arviz.summary's row order."""
    blocks = []
    for name in var_names:
        values = np.asarray(posterior[name].values, dtype=float)
        n_chain, n_draw = values.shape[:2]
        blocks.append(np.moveaxis(values.reshape(n_chain, n_draw, -1), -1, 0))
    if not blocks:
        return np.zeros((0, 0, 0))
    return np.ascontiguousarray(np.concatenate(blocks, axis=0))


def diagnostics(values: np.ndarray) -> Diagnostics:
    """arviz's `_multichain_statistics` (focus "mean") and `_ess_mean` for each (chain, draw)."""
    columns = np.full((6, len(values)), np.nan)
    for start in range(0, len(values), CHUNK):
        part = values[start : start + CHUNK]
        columns[:, start : start + len(part)] = _chunk(part)
    return Diagnostics(*columns)


def _chunk(values: np.ndarray) -> np.ndarray:
    n, n_chain, n_draw = values.shape
    out = np.full((6, n), np.nan)
    if n == 0:
        return out
    if n_chain < 2 or n_draw < 8:
        for i in range(n):
            out[:, i] = _arviz(values[i])
        return out
    flat = values.reshape(n, -1)
    low, high = _quantiles(flat)
    centred = values - flat.mean(axis=-1)[:, None, None]  # arviz: ary - ary.mean()
    sims_c2 = centred**2
    squares = sims_c2.reshape(n, -1)
    sims_sum = squares.sum(axis=-1)
    fourth = (squares**2).mean(axis=-1)
    split = _split(values)
    z_split = _z_scale(split)
    folded = np.abs(values - np.median(flat, axis=-1)[:, None, None])
    inputs = (
        _split(values <= low[:, None, None]).astype(float),
        _split(values <= high[:, None, None]).astype(float),
        split,
        z_split,
        _split(sims_c2),
    )
    ess = [_EssParts.of(x) for x in inputs]
    rhat_bulk, rhat_tail = _rhat(z_split), _rhat(_z_scale(_split(folded)))
    odd = np.isnan(flat).any(axis=-1)
    for part in ess:
        odd |= part.flat
    size = flat.shape[1]
    for i in range(n):
        if odd[i]:
            out[:, i] = _arviz(values[i])
            continue
        q05, q95, ess_mean, ess_bulk, ess_sims = (part.ess(i) for part in ess)
        # the scalar tail of arviz's _multichain_statistics, with its numpy scalars
        var = sims_sum[i] / (size - 1)
        evar = sims_sum[i] / size
        varvar = (fourth[i] - evar**2) / ess_sims
        out[:, i] = (
            np.sqrt(var / ess_mean),
            np.sqrt(varvar / evar / 4),
            ess_bulk,
            min(q05, q95),
            max(rhat_bulk[i], rhat_tail[i]),
            ess_mean,
        )
    return out


def bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI per chain of `energy` (chain, draw): arviz.bfmi's numbers, without its numba."""
    energy = np.atleast_2d(np.asarray(energy, dtype=float))
    return np.square(np.diff(energy, axis=1)).mean(axis=1) / _sequential_var(energy, ddof=1)


def _arviz(values: np.ndarray) -> tuple[float, ...]:
    """One element through arviz itself (the cases the batched path does not take)."""
    from arviz.stats.diagnostics import _ess_mean, _multichain_statistics

    return (*_multichain_statistics(values), _ess_mean(values))


def _split(values: np.ndarray) -> np.ndarray:
    """(N, 2C, D // 2): arviz's `_split_chains` (first halves, then second halves)."""
    half = values.shape[-1] // 2
    return np.concatenate((values[..., :half], values[..., -half:]), axis=-2)


def _z_scale(values: np.ndarray) -> np.ndarray:
    """arviz's `_z_scale` per element: normal scores of the ranks over all its draws."""
    flat = values.reshape(len(values), -1)
    ranks = stats.rankdata(flat, method="average", axis=-1)
    size = flat.shape[1]
    ranks = (ranks - RANK_OFFSET) / (size - 2 * RANK_OFFSET + 1)
    return stats.norm.ppf(ranks).reshape(values.shape)


def _quantiles(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 5% and 95% quantiles as arviz takes them (`mquantiles`, alphap = betap = 1)."""
    ordered = np.sort(flat, axis=-1)
    n = ordered.shape[1]
    p = np.array([0.05, 0.95])
    m = 1.0 + p * (1.0 - 1.0 - 1.0)
    aleph = n * p + m
    k = np.floor(aleph.clip(1, n - 1)).astype(int)
    gamma = (aleph - k).clip(0, 1)
    q = (1.0 - gamma) * ordered[:, k - 1] + gamma * ordered[:, k]
    return q[:, 0], q[:, 1]


def _sequential_var(values: np.ndarray, ddof: int) -> np.ndarray:
    """arviz's numba `stats_variance_1d` along the last axis: running sums, in order."""
    n = values.shape[-1]
    total = np.cumsum(values, axis=-1)[..., -1]
    squares = np.cumsum(values * values, axis=-1)[..., -1]
    var = squares / n - (total / n) ** 2
    return var * (n / (n - ddof))


def _scalar_var(values: list[float], ddof: int) -> float:
    """`_sequential_var` of one short series (the chain means), as the numba loop adds."""
    total = squares = 0.0
    for v in values:
        total = total + v
        squares = squares + v * v
    n = len(values)
    var = squares / n - (total / n) * (total / n)
    return var * (n / (n - ddof))


def _rhat(z: np.ndarray) -> np.ndarray:
    """arviz's `_rhat` of split, rank-normalised draws (N, 2C, H)."""
    n_samples = z.shape[-1]
    chain_mean = z.mean(axis=-1)
    within = _sequential_var(z, ddof=1).mean(axis=-1)
    between = np.array([n_samples * _scalar_var(m, 1) for m in chain_mean.tolist()])
    return np.sqrt((between / within + n_samples - 1) / n_samples)


@dataclass(frozen=True)
class _EssParts:
    """The batched half of arviz's `_ess` for (N, chains, draws); `ess(i)` finishes one."""

    lag_mean: np.ndarray  # (N, draws): mean over chains of each lag's autocovariance
    chain_mean: np.ndarray  # (N, chains)
    flat: np.ndarray  # (N,) bool: the series is constant (arviz returns its size)
    shape: tuple[int, int]

    @classmethod
    def of(cls, x: np.ndarray) -> _EssParts:
        n, n_chain, n_draw = x.shape
        m = next_fast_len(2 * n_draw)
        rows = x.reshape(-1, n_draw)
        centred = rows - rows.mean(axis=-1, keepdims=True)
        spectrum = np.fft.rfft(centred, n=m, axis=-1)
        spectrum *= np.conjugate(spectrum)
        acov = np.fft.irfft(spectrum, n=m, axis=-1)[:, :n_draw]
        acov /= n_draw
        by_lag = np.ascontiguousarray(acov.reshape(n, n_chain, n_draw).transpose(0, 2, 1))
        spread = x.reshape(n, -1)
        flat = (spread.max(axis=-1) - spread.min(axis=-1)) < RESOLUTION
        return cls(by_lag.mean(axis=-1), x.mean(axis=-1), flat, (n_chain, n_draw))

    def ess(self, i: int) -> Any:
        """arviz's `_ess` (relative=False) from here on, for element i."""
        n_chain, n_draw = self.shape
        lags = self.lag_mean[i]
        mean_var = lags[0] * n_draw / (n_draw - 1.0)
        var_plus = mean_var * (n_draw - 1.0) / n_draw
        if n_chain > 1:
            var_plus += _scalar_var(self.chain_mean[i].tolist(), 1)
        rho_hat_t = np.zeros(n_draw)
        rho_hat_even = 1.0
        rho_hat_t[0] = rho_hat_even
        rho_hat_odd = 1.0 - (mean_var - lags[1]) / var_plus
        rho_hat_t[1] = rho_hat_odd
        t = 1  # Geyer's initial positive sequence
        while t < (n_draw - 3) and (rho_hat_even + rho_hat_odd) > 0.0:
            rho_hat_even = 1.0 - (mean_var - lags[t + 1]) / var_plus
            rho_hat_odd = 1.0 - (mean_var - lags[t + 2]) / var_plus
            if (rho_hat_even + rho_hat_odd) >= 0:
                rho_hat_t[t + 1] = rho_hat_even
                rho_hat_t[t + 2] = rho_hat_odd
            t += 2
        max_t = t - 2
        if rho_hat_even > 0:
            rho_hat_t[max_t + 1] = rho_hat_even
        t = 1  # Geyer's initial monotone sequence
        while t <= max_t - 2:
            if (rho_hat_t[t + 1] + rho_hat_t[t + 2]) > (rho_hat_t[t - 1] + rho_hat_t[t]):
                rho_hat_t[t + 1] = (rho_hat_t[t - 1] + rho_hat_t[t]) / 2.0
                rho_hat_t[t + 2] = rho_hat_t[t + 1]
            t += 2
        ess = n_chain * n_draw
        tau_hat = (
            -1.0 + 2.0 * np.sum(rho_hat_t[: max_t + 1]) + np.sum(rho_hat_t[max_t + 1 : max_t + 2])
        )
        tau_hat = max(tau_hat, 1 / np.log10(ess))
        ess = ess / tau_hat
        if np.isnan(rho_hat_t).any():
            ess = np.nan
        return ess
