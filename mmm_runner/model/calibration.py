"""Calibration: lift tests as likelihood terms and ROAS priors (docs/model.md, "Calibration").

A lift test says: over a window the channel's activity and spend were changed by a fraction, and
the target changed by `lift +- lift_se`. Each test adds to the joint density

    lift ~ Normal(predicted_lift(params), lift_se)

with `predicted_lift` the model's own counterfactual, per draw: the channel's scaled media times
(1 + spend_change) in the window's periods (so its carried-over media after the window moves too),
through the structure's saturation, with the training-window centring and scaling of `h` kept as
observed (as `analysis/response.py` does), minus the target as observed, summed over the measured
periods (start .. measure_end) in the target's units:

    log1p structures:  sum_t exp(mu[t] + m) * expm1(delta[t])     additive:  sum_t s * delta[t]
    delta[t] = beta_c / sd_train(h_c) * (h_c(counterfactual)[t] - h_c[t])

`model.roas_prior.<channel>` replaces the channel's beta prior by a prior on its ROAS through
roas_c = beta_c * A_c(decay_c, K_c), with A_c = sum_t w_t h_c[t] / (sd_train(h_c) * spend_c):
exact in the additive structure (w_t = s: a channel's contribution is linear in beta), the
linearised contribution at the observed level in log space (w_t = 1 + y_t; see docs/model.md).
Given the media parameters the map is linear, so the density of beta it implies is
p_roas(A beta) * A: the term added is that, minus the beta prior's own log density.

Both enter the PyMC graph as potentials (`Calibration.add_to_graph`, the structure's
`extra_terms` hook); a calibrated run samples the graph, never the native density.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.errors import ConfigError
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.calibration_entries import (
    LiftTest,
    RoasPrior,
    load_entries,
    resolve_roas_prior,
    resolve_test,
)
from mmm_runner.model.learned import AdditiveStructure, LearnedStructure
from mmm_runner.model.structure import ArrayNamespace, ModelStructure

__all__ = ["Calibration", "LiftTest", "RoasPrior", "build_calibration", "load_entries"]

SUPPORTED = (LearnedStructure, AdditiveStructure)


@dataclass(frozen=True)
class Calibration:
    """What a run's calibration adds to the structure's graph (`ModelStructure.extra_terms`)."""

    tests: tuple[LiftTest, ...]
    roas_priors: tuple[RoasPrior, ...]
    weight: np.ndarray  # (T,) w_t of the ROAS factor: s (additive) or 1 + y_t (log1p)

    @property
    def fingerprint(self) -> str:
        """The graph's shape: which channels the tests and ROAS priors are on and the priors'
        families (the compiled-graph cache key). Lifts, windows and levels are `pm.Data`
        (`graph_data`): new values swap into a compiled graph."""
        spec = [[t.index for t in self.tests], len(self.weight)]
        for prior in self.roas_priors:
            params = {k: np.asarray(v).tolist() for k, v in prior.spec.params.items()}
            spec.append([prior.index, prior.spec.dist, params])
        return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]

    def graph_data(self, structure: ModelStructure, features: FeatureSet) -> dict[str, Any]:
        """The terms' `pm.Data` values by name (see `ModelStructure.pymc_data`)."""
        out: dict[str, Any] = {}
        if self.tests:
            max_lag = structure.recipe.max_lag  # type: ignore[attr-defined]
            out["calibration_multiplier"] = np.stack(
                [t.lag_multiplier(max_lag) for t in self.tests]
            )
            level = level_factor(structure, features)
            out["calibration_measured"] = np.stack([t.measured * level for t in self.tests])
            out["calibration_observed"] = np.array([t.lift for t in self.tests])
            out["calibration_se"] = np.array([t.lift_se for t in self.tests])
        if self.roas_priors:
            out["roas_weight"] = self.weight
            out["roas_spend"] = self.spend_vector()
        return out

    def add_to_graph(
        self,
        structure: ModelStructure,
        params: Mapping[str, Any],
        data: Mapping[str, Any],
        features: FeatureSet,
    ) -> None:
        """Potentials for every lift test and ROAS prior (inside the structure's `pm.Model`)."""
        import pymc as pm
        import pytensor.tensor as pt

        own = {k: pm.Data(k, v) for k, v in self.graph_data(structure, features).items()}
        if self.tests:
            model = pm.modelcontext(None)
            model.add_coord("lift_test", self.test_names())
            lifts = [
                lift_sum(
                    structure, params, data, t.index, own["calibration_multiplier"][i],
                    own["calibration_measured"][i], pt,
                )
                for i, t in enumerate(self.tests)
            ]  # fmt: skip
            pm.Deterministic("calibration_lift", pt.stack(lifts), dims="lift_test")
            # log Normal(lift | predicted, se) up to a constant, one scalar per test: the
            # vectorised form trips a pytensor fusion rewrite (a logged KeyError) under nutpie
            observed, se = own["calibration_observed"], own["calibration_se"]
            logp = sum(-0.5 * ((observed[i] - lift) / se[i]) ** 2 for i, lift in enumerate(lifts))
            pm.Potential("calibration_lift_logp", logp)
        if self.roas_priors:
            pm.Potential(
                "roas_prior",
                self._roas_logp(structure, params, data, own["roas_weight"], own["roas_spend"]),
            )

    def _roas_logp(
        self,
        structure: ModelStructure,
        params: Mapping[str, Any],
        data: Mapping[str, Any],
        weight: Any,
        spend: Any,
    ) -> Any:
        import pymc as pm
        import pytensor.tensor as pt

        model = pm.modelcontext(None)
        n = len(self.spend_vector())
        roas, d_roas = channel_roas(structure, params, data, weight, spend, pt, n)
        centred = "beta_raw" not in model.named_vars
        free = model["beta" if centred else "beta_raw"]
        prior_logp = pm.logp(free, free)
        # d roas / d free = d roas / d beta * (1, centred; sigma_beta: beta = sigma_beta * beta_raw)
        jacobian = d_roas if centred else d_roas * params["sigma_beta"]
        total = 0.0
        for prior in self.roas_priors:
            i = prior.index
            family = getattr(pm, prior.spec.dist).dist(**prior.spec.params)
            total = total + pm.logp(family, roas[i]) + pm.math.log(jacobian[i]) - prior_logp[i]
        return total

    def test_names(self) -> list[str]:
        """One unique label per lift test (the `lift_test` coordinate)."""
        names = [t.name for t in self.tests]
        return (
            names if len(set(names)) == len(names) else [f"{i}: {n}" for i, n in enumerate(names)]
        )

    def spend_vector(self) -> np.ndarray:
        """(C,) spend of the channels with a ROAS prior (1 elsewhere: never used)."""
        n = max((p.index for p in self.roas_priors), default=-1) + 1
        spend = np.ones(n)
        for prior in self.roas_priors:
            spend[prior.index] = prior.spend
        return spend


# ----------------------------------------------------------------------------- the equations
def predicted_lift(
    structure: ModelStructure,
    params: Mapping[str, Any],
    data: Mapping[str, Any],
    test: LiftTest,
    features: FeatureSet,
    xp: ArrayNamespace,
) -> Any:
    """(...,) the model's lift for `test` (numpy: params with a leading draws axis)."""
    multiplier = test.lag_multiplier(structure.recipe.max_lag)  # type: ignore[attr-defined]
    weights = test.measured * level_factor(structure, features)
    return lift_sum(structure, params, data, test.index, multiplier, weights, xp)


def level_factor(structure: ModelStructure, features: FeatureSet) -> float:
    """What scales the model's lift to the target's units: s (additive: y = s mu) or e^m
    (log1p: y = expm1(mu + m), so a lift is e^m e^mu expm1(delta))."""
    if isinstance(structure, AdditiveStructure):
        return float(features.target_mean)
    return float(np.exp(features.target_offset))


def lift_sum(
    structure: ModelStructure,
    params: Mapping[str, Any],
    data: Mapping[str, Any],
    c: int,
    multiplier: Any,
    weights: Any,
    xp: ArrayNamespace,
) -> Any:
    """(...,) the target with channel c's lagged media times `multiplier` (L+1, T) minus the
    target as observed, summed with `weights` (T,): the measured periods times `level_factor`.
    The training-window mean and sd of h stay as observed. Written once for numpy and pytensor."""
    assert isinstance(structure, SUPPORTED)
    own = {
        k: params[k][..., c : c + 1] for k in ("decay", "half_saturation", "slope") if k in params
    }
    lags = data["media_lags"][..., c : c + 1]
    observed, _, spread = structure.standardized(
        own, {"media_lags": lags, "fit_weight": data["fit_weight"]}, xp
    )
    moved = structure.saturated(own, {"media_lags": lags * multiplier[..., None]}, xp)
    coef = params["beta"][..., c : c + 1] / spread  # (..., 1)
    delta = (coef[..., None, :] * (moved - observed))[..., 0]  # (..., T)
    if isinstance(structure, AdditiveStructure):
        return (delta * weights).sum(-1)
    mu = structure.mean(params, data, xp)
    return (xp.exp(mu) * xp.expm1(delta) * weights).sum(-1)


def channel_roas(
    structure: ModelStructure,
    params: Mapping[str, Any],
    data: Mapping[str, Any],
    weight: np.ndarray,
    spend: Any,
    xp: ArrayNamespace,
    n: int | None = None,
) -> tuple[Any, Any]:
    """(..., C') the ROAS a ROAS prior is on and its derivative in beta, for the first
    C' = len(spend) channels. With g_c[t] = h_c[t] / sd_train(h_c) (the channel's term per unit
    of beta) and w_t the level (`Calibration.weight`):
    additive: roas_c = beta_c sum_t w_t g_c[t] / spend_c (the reported ROAS, exactly);
    log1p:    roas_c = sum_t w_t (1 - exp(-beta_c g_c[t])) / spend_c, the removal counterfactual
    b e^T (1 - e^-t_c) with the fitted level b e^T taken at the observed target (w_t = 1 + y_t).
    Either way roas_c depends on beta_c and the channel's own media parameters only."""
    assert isinstance(structure, SUPPORTED)
    n = len(spend) if n is None else n
    own = {k: params[k][..., :n] for k in ("decay", "half_saturation", "slope") if k in params}
    saturated, _, spread = structure.standardized(
        own, {"media_lags": data["media_lags"][..., :n], "fit_weight": data["fit_weight"]}, xp
    )
    per_beta = saturated / spread[..., None, :]  # (..., T, C')
    beta = params["beta"][..., :n]
    level = weight[:, None]
    if isinstance(structure, AdditiveStructure):
        slope = (per_beta * level).sum(-2) / spend
        return beta * slope, slope
    kept = xp.exp(-beta[..., None, :] * per_beta)
    roas = ((1.0 - kept) * level).sum(-2) / spend
    return roas, (per_beta * kept * level).sum(-2) / spend


def implied_roas(
    calibration: Calibration,
    structure: ModelStructure,
    params: Mapping[str, np.ndarray],
    data: Mapping[str, np.ndarray],
) -> np.ndarray:
    """(S, C') the ROAS the ROAS priors are on, per draw (numpy)."""
    spend = calibration.spend_vector()
    return channel_roas(structure, params, data, calibration.weight, spend, np)[0]


# ------------------------------------------------------------------------ building from config
def build_calibration(
    cfg: Any, structure: ModelStructure, features: FeatureSet, period_spend: np.ndarray
) -> Calibration | None:
    """The run's calibration terms (None without lift tests or ROAS priors), each entry checked
    against the data: a known channel, a window inside the training window. `period_spend`
    (T_train, C) is each channel's spend per training period (a NaN column: no spend column)."""
    entries = load_entries(getattr(cfg, "calibration", None))
    roas_cfg = dict(getattr(cfg.model, "roas_prior", None) or {})
    if not entries and not roas_cfg:
        return None
    if not isinstance(structure, SUPPORTED) or type(structure) not in SUPPORTED:
        what = "calibration" if entries else f"model.roas_prior.{next(iter(roas_cfg))}"
        raise ConfigError(
            f"{what}: needs model=default or model=additive (structure {structure.name!r} has no "
            "learned media block to take a counterfactual through)"
        )
    training = features.training
    tests = tuple(resolve_test(label, entry, training, period_spend) for label, entry in entries)
    spend = period_spend.sum(0)
    priors = tuple(resolve_roas_prior(str(ch), roas_cfg[ch], training, spend) for ch in roas_cfg)
    if isinstance(structure, AdditiveStructure):
        weight = np.full(len(training.target), float(training.target_mean))
    else:
        weight = 1.0 + np.asarray(training.target, dtype=float)
    return Calibration(tests, priors, weight)
