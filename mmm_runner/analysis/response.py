"""The target's response to each channel's spend, per posterior draw (docs/model.md, "Response
curves").

Every structure's media block has one shape: a channel's term of mu is `coef_c * h_c(x_c u_c[t])`,
with `u_c` its carried-over media at the observed spend, `x_c` a spend multiplier (adstock is
linear, so scaling spend and activity in every period scales `u_c`), `h_c` its saturation curve
and `coef_c` the effect per unit of `h`. The constants the fit standardised with (learned's
training-window mean and sd of `h_c`, fixed's scaler and Hill peak) belong to the fitted model
and stay as observed: only `h_c` moves. `MediaResponse` holds those pieces as arrays over draws,
so an mROAS or an optimizer step is a few vectorised numpy passes and a curve one compiled
loop (`curve_kernel`), never a refit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from mmm_runner.config.schema import FeaturesConfig, value_of
from mmm_runner.features.build import FeatureSet
from mmm_runner.features.transforms import geometric_adstock
from mmm_runner.model.fixed import FixedStructure
from mmm_runner.model.learned import AdditiveStructure, LearnedStructure
from mmm_runner.model.media import HILL_FLOOR, LOG_3, adstock_weights
from mmm_runner.model.parameters import Draws
from mmm_runner.model.structure import Evaluation, ModelStructure

LOG1P = "log1p"  # y = expm1(mu + m): the log-space structures
IDENTITY = "identity"  # y = s * mu: the additive structure
CHECK_DRAWS = 16  # draws on which the response is checked against the structure's equations
SLOPE_FLOOR = 1e-12  # x^(S-1) at x = 0 (Hill slope below 1): a finite, very steep derivative


@dataclass(frozen=True)
class MediaResponse:
    """Per draw: the target over a window as a function of per-channel spend multipliers.

    `carried`, `half_saturation` and `slope` have a leading axis of S draws or 1 (shared by all
    draws, as in `fixed`). `weight[t]` counts period t (1 in the historical window; N periods in
    a steady-state plan, see `steady_state`).
    """

    channels: tuple[str, ...]
    family: str  # hill | logistic | none
    carried: np.ndarray  # (S|1, T, C) u: carried-over media at the observed spend
    half_saturation: np.ndarray  # (S|1, C) K
    slope: np.ndarray  # (S|1, C) Hill S
    coef: np.ndarray  # (S, C) model-scale effect of one unit of h
    base: np.ndarray  # (S, T) mu with every channel at zero
    link: str  # LOG1P | IDENTITY
    offset: float  # m (log1p link)
    scale: float  # s (identity link)
    weight: np.ndarray  # (T,)

    @property
    def n_draws(self) -> int:
        return int(self.coef.shape[0])

    @cached_property
    def kernel(self) -> np.ndarray:
        """(S|1, T, C) what `saturation` multiplies by x: Hill (u/K)^S, logistic (ln 3 / K) u,
        none u. Channel-major in memory, as the learned structures' carried media: numpy's
        default C-order result made the optimizer's passes several times slower."""
        if self.family == "none":
            return self.carried
        out = np.empty((len(self.channels), *self.carried.shape[:-1])).transpose(1, 2, 0)
        for index in range(len(self.channels)):
            out[..., index] = self.channel_kernel(index)
        return out

    def channel_kernel(self, index: int) -> np.ndarray:
        """(S|1, T) channel `index`'s `kernel`, contiguous. A curve needs one channel at a time:
        an entity panel's kernels for all channels, entities and draws at once ran to gigabytes,
        and fresh memory is what cost most here."""
        if "kernel" in self.__dict__:
            return np.ascontiguousarray(self.kernel[..., index])
        carried = self.carried[..., index]
        if self.family == "none":
            return np.ascontiguousarray(carried)
        k = self.half_saturation[:, None, index]
        if self.family == "logistic":
            return (LOG_3 / k) * carried
        out = np.maximum(carried, HILL_FLOOR)
        out /= k
        slope = self.slope[:, None, index]
        if not np.all(slope == 1.0):
            np.power(out, slope, out=out)
        return out

    def head(self, n: int) -> MediaResponse:
        """The same response over its first n draws (an axis of 1 shared by all draws stays)."""

        def first(values: np.ndarray) -> np.ndarray:
            return values[:n] if values.shape[0] > 1 else values

        return replace(
            self,
            carried=first(self.carried),
            half_saturation=first(self.half_saturation),
            slope=first(self.slope),
            coef=self.coef[:n],
            base=self.base[:n],
        )

    def saturation(self, x: np.ndarray, grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """h(x u) and (if `grad`) dh/dx for multipliers `x` ((C,) or (S, C)): (S|1, T, C)."""
        x = np.asarray(x, dtype=float)[..., None, :]
        return _saturate(self.family, self.kernel, x, self.slope[..., None, :], grad)

    def current_term(self, index: int, kernel: np.ndarray | None = None) -> np.ndarray:
        """(S, T) channel `index`'s term of mu at the observed spend (x = 1)."""
        kernel = self.channel_kernel(index) if kernel is None else kernel
        slope = self.slope[:, None, index]
        h, _ = _saturate(self.family, kernel, 1.0, slope, grad=False)
        return self.coef[:, None, index] * h

    @cached_property
    def current_mu(self) -> np.ndarray:
        """(S, T) mu at the observed spend: the base plus every channel's current term."""
        mu = self.base.copy()
        for index in range(len(self.channels)):
            mu += self.current_term(index)
        return mu

    def terms(self, x: np.ndarray) -> np.ndarray:
        """(S, T, C) each channel's term of mu at multipliers x."""
        h, _ = self.saturation(x, grad=False)
        return self.coef[:, None, :] * h

    def level(self, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The target and its derivative in mu, elementwise."""
        if self.link == LOG1P:
            grown = np.exp(mu + self.offset)
            return grown - 1.0, grown
        return mu * self.scale, np.full_like(mu, self.scale)

    def total(self, x: np.ndarray) -> np.ndarray:
        """(S,) the target summed over the window at multipliers x."""
        h, _ = self.saturation(x, grad=False)
        y, _ = self.level(self.base + _per_draw(h, self.coef))
        return y @ self.weight

    def total_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S,) the target over the window and (S, C) its gradient in x (analytic)."""
        h, dh = self.saturation(x)
        assert dh is not None
        y, dy = self.level(self.base + _per_draw(h, self.coef))
        weighted = dy * self.weight  # (S, T)
        if dh.shape[0] == 1:  # media shared by every draw (fixed)
            grad = weighted @ dh[0]
        else:
            grad = np.matmul(weighted[:, None, :], dh)[:, 0, :]
        return y @ self.weight, grad * self.coef

    def channel_curve(self, index: int, multipliers: np.ndarray) -> np.ndarray:
        """(S, M) channel `index`'s incremental target over the window at each multiplier versus
        the channel at zero, every other channel as observed (a removal counterfactual). The
        loop over draws, periods and multipliers is compiled (`curve_kernel`)."""
        from mmm_runner.analysis import curve_kernel

        kernel = self.channel_kernel(index)
        slope = self.slope[..., None, index]
        coef = np.ascontiguousarray(self.coef[:, index])
        multipliers = np.asarray(multipliers, dtype=float)
        # what `_saturate` multiplies the kernel by (hill: x^S), one row per kernel row
        factor = np.power(multipliers[None, :], slope) if self.family == "hill" else multipliers
        factor = np.ascontiguousarray(np.broadcast_to(factor, (len(kernel), len(multipliers))))
        family = curve_kernel.FAMILY_CODES[self.family]
        out = np.empty((self.n_draws, len(multipliers)))
        if self.link != LOG1P:
            curve_kernel.identity_curves(
                kernel, factor, multipliers, coef, self.weight, self.scale, family, out
            )
            return out
        others = self.current_mu - self.current_term(index, kernel)
        grown = np.exp(others + self.offset) * self.weight  # the level's growth: e^b expm1(own)
        curve_kernel.log_curves(kernel, factor, multipliers, coef, grown, family, out)
        return out

    def steady_state(self, periods: int) -> MediaResponse:
        """N periods at the window's average: each channel's carried-over media at its mean
        level (the steady state of its average spend) and the baseline at its mean level."""
        w = self.weight / self.weight.sum()
        carried = np.einsum("t,stc->sc", w, self.carried)[:, None, :]
        if self.link == LOG1P:
            peak = self.base.max(-1, keepdims=True)  # log-mean-exp: the mean level, not mean mu
            base = peak + np.log(np.exp(self.base - peak) @ w)[:, None]
        else:
            base = (self.base @ w)[:, None]
        return replace(self, carried=carried, base=base, weight=np.array([float(periods)]))


def _per_draw(h: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """(S, T) sum_c coef[s, c] h[s|0, t, c] as one batched matrix product."""
    if h.shape[0] == 1:
        return (h[0] @ coef.T).T
    return np.matmul(h, coef[:, :, None])[..., 0]


def _saturate(
    family: str, kernel: np.ndarray, x: np.ndarray | float, slope: np.ndarray, grad: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """h and dh/dx from the precomputed kernel (`MediaResponse.kernel`), x broadcast to it.
    In place where it can: the optimizer calls this on (draws x periods x channels) arrays."""
    if family == "hill":  # q = x^S (u/K)^S, h = q / (1 + q), dh/dx = S x^(S-1) (u/K)^S / (1+q)^2
        q = np.asarray(x) ** slope * kernel
        inverse = np.reciprocal(q + 1.0)
        h = np.multiply(q, inverse, out=q)
        if not grad:
            return h, None
        d_power = slope * np.maximum(x, SLOPE_FLOOR) ** (slope - 1.0)
        dh = kernel * inverse
        dh *= inverse
        dh *= d_power
        return h, dh
    if family == "logistic":  # h = (1 - e) / (1 + e), e = exp(-x lam u)
        e = np.exp(-x * kernel)
        inverse = np.reciprocal(e + 1.0)
        h = (1.0 - e) * inverse
        if not grad:
            return h, None
        dh = 2.0 * kernel * e
        dh *= inverse
        dh *= inverse
        return h, dh
    return x * kernel, (kernel if grad else None)


def media_response(
    structure: ModelStructure,
    draws: Draws,
    features: FeatureSet,
    features_cfg: FeaturesConfig,
    evaluation: Evaluation | None = None,
) -> MediaResponse:
    """The response pieces of a fitted structure over `features`' periods (pass the training
    window). Checked against the structure's own `mean` and `channel_terms` at the observed
    spend, so a change to a structure's equations cannot silently bend the curves.

    `evaluation`: `structure.evaluate(draws, features)` when the caller already has it."""
    if features.panel is not None:  # model.level=entity: the brand total, entity by entity
        from mmm_runner.analysis.entity import panel_response

        return panel_response(structure, draws, features)  # type: ignore[arg-type,return-value]
    params = draws.values
    data = structure.model_data(features)
    n_channels = len(features.channel_names)
    if isinstance(structure, LearnedStructure):
        recipe = structure.recipe
        family = recipe.family
        carried = _carried(params["decay"], data["media_lags"], recipe.max_lag)
        media = evaluation.media if evaluation is not None else None
        _, average, spread = media or structure.standardized(params, data, np)
        coef = params["beta"] / spread
        # mu = intercept + sum_c coef_c (h_c - mean h_c) + controls (learned.py), so with every
        # channel at zero (h = 0) it is what follows: learned's `mean` costs a second pass.
        controls = np.einsum("tj,sj->st", data["x_controls"], params["gamma"])
        base = params["intercept"][:, None] + controls - (coef * average).sum(-1)[:, None]
        ones = np.ones((1, n_channels))
        k = params["half_saturation"] if family != "none" else ones
        slope = params["slope"] if recipe.learn_slope else ones * recipe.slope
    elif isinstance(structure, FixedStructure):
        family, carried, k, slope = _fixed_media(features, features_cfg)
        std = np.array([features.scalers[c].std for c in features.channel_names])
        coef = params["beta"] / std
        evaluation = evaluation or structure.evaluate(draws, features)
        base = evaluation.mu - evaluation.terms.sum(-1)
    else:
        raise TypeError(f"no response curves for structure {structure.name!r}")
    additive = isinstance(structure, AdditiveStructure)
    response = MediaResponse(
        channels=tuple(features.channel_names),
        family=family,
        carried=np.asarray(carried, dtype=float),
        half_saturation=np.asarray(k, dtype=float),
        slope=np.asarray(slope, dtype=float),
        coef=np.asarray(coef, dtype=float),
        base=base,
        link=IDENTITY if additive else LOG1P,
        offset=0.0 if additive else float(features.target_offset),
        scale=float(features.target_mean) if additive else 1.0,
        weight=np.ones(len(features.target)),
    )
    _check(structure, response, params, data)
    return response


def _check(
    structure: ModelStructure,
    response: MediaResponse,
    params: dict[str, np.ndarray],
    data: dict[str, np.ndarray],
) -> None:
    """The response at the observed spend reproduces the structure's mu and channel terms (on
    the first CHECK_DRAWS draws: the structure's own equations cost a full pass each)."""
    n = min(CHECK_DRAWS, response.n_draws)
    subset = {name: value[:n] for name, value in params.items()}
    terms = structure.channel_terms(subset, data, np)
    mu = structure.mean(subset, data, np)
    if mismatch(response, terms, mu, n):
        raise ValueError(f"{structure.name}: the response model does not reproduce its mean")


def mismatch(response: MediaResponse, terms: np.ndarray, mu: np.ndarray, n: int) -> bool:
    """True when the response's pieces (base + coef h(kernel)) on its first n draws do not
    rebuild the structure's channel `terms` and `mu`: the check every response passes."""
    head = response.head(n)  # its kernel over n draws, not all of them
    rebuilt = head.terms(np.ones(len(head.channels)))
    tolerance = 1e-9 * (np.abs(mu).max() + np.abs(terms).max() + 1.0)
    return not (
        np.allclose(rebuilt, terms, rtol=1e-6, atol=tolerance)
        and np.allclose(head.base + rebuilt.sum(-1), mu, rtol=1e-6, atol=tolerance)
    )


def _carried(decay: np.ndarray, lagged_media: np.ndarray, max_lag: int) -> np.ndarray:
    """(S, T, C) `media.adstock` as one batched matrix product per channel (BLAS, not einsum)."""
    weights = adstock_weights(decay, max_lag)  # (S, L, C)
    per_channel = np.matmul(weights.transpose(2, 0, 1), lagged_media.transpose(2, 0, 1))
    return per_channel.transpose(1, 2, 0)


def _fixed_media(
    features: FeatureSet, features_cfg: FeaturesConfig
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """`fixed` transforms media in the feature layer with configured decay, K and S: redo the
    carry-over on raw activity and keep the observed Hill peak (features/build.py)."""
    sat = features_cfg.saturation
    family = value_of(sat.type) if sat.enabled else "none"
    raw = features.media_scaled * features.media_peak
    max_lag = int(features_cfg.adstock.max_lag)
    columns = []
    for i, name in enumerate(features.channel_names):
        carried = geometric_adstock(raw[:, i], features.decays[name], max_lag)
        peak = float(carried[: features.n_fit].max(initial=0.0))
        if family != "none":
            carried = carried / peak if peak > 0 else np.zeros_like(carried)
        columns.append(carried)
    n = len(features.channel_names)
    carried_all = np.column_stack(columns)[None] if columns else np.zeros((1, 0, 0))
    return family, carried_all, np.full((1, n), float(sat.K)), np.full((1, n), float(sat.S))
