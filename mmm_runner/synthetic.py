"""Data with known truth for recovery studies, simulated from a structure's own equations.

`simulate_case(CaseSpec(...))` draws media, spend and a price control, picks true parameters
(decays 0.1-0.8, half-saturation 0.2-1.0 of the scaled peak, placebo channels with no effect),
simulates the target through the structure's `mean` plus noise, and returns the panel with its
truth: the parameters and every channel's true contribution and ROAS (via the structure's own
`predict`, so the truth uses the same contribution method the fit reports).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.analysis.response import MediaResponse, media_response
from mmm_runner.features.build import FeatureSet, build_features
from mmm_runner.model.fixed import FIXED
from mmm_runner.model.learned import AdditiveStructure, LearnedStructure, MediaRecipe
from mmm_runner.model.parameters import Draws
from mmm_runner.model.structure import ModelStructure

PERIODS_PER_YEAR = {"WEEK": 52, "MONTH": 12}
FREQUENCY = {"WEEK": "7D", "MONTH": "MS"}
LOG_LEVEL = float(np.log(50_000.0))
ADDITIVE_LEVEL = 50_000.0


@dataclass(frozen=True)
class CaseSpec:
    """One simulated dataset: which structure made it and how hard it is."""

    structure: str  # learned | additive | fixed
    n_channels: int
    grain: str = "WEEK"
    years: int = 3
    placebo: bool = False  # the last channel has no effect
    saturation: str = "hill"  # hill | logistic (the truth's family)
    max_lag: int = 13  # the truth's carryover horizon, in periods
    noise: float = 0.04  # noise sd on the model scale
    seed: int = 0
    # > 0: the second channel copies the first's activity times LogNormal(0, correlated) noise,
    # two channels the data can barely tell apart (the calibration study, tests/test_calibration.py)
    correlated: float = 0.0
    betas: tuple[float, ...] | None = None  # the truth's beta per channel; None: drawn

    @property
    def name(self) -> str:
        extra = "_placebo" if self.placebo else ""
        extra += f"_corr{self.correlated:g}" if self.correlated > 0 else ""
        return (
            f"{self.structure}_{self.saturation}_{self.n_channels}ch_{self.grain.lower()}_"
            f"{self.years}y{extra}_s{self.seed}"
        )


def _media(rng: np.random.Generator, n: int, grain: str) -> np.ndarray:
    """One channel's activity: flighted bursts, or always-on with noise and seasonality."""
    season = PERIODS_PER_YEAR[grain]
    level = float(rng.uniform(2e4, 2e6))
    if rng.uniform() < 0.5:
        out = np.zeros(n)
        t = int(rng.integers(0, 3))
        on, off = ((2, 7), (1, 5)) if grain == "WEEK" else ((1, 4), (1, 3))
        while t < n:
            length = int(rng.integers(*on))
            out[t : t + length] = level * rng.uniform(0.4, 1.6, size=min(length, n - t))
            t += length + int(rng.integers(*off))
        return out
    phase = rng.uniform(0, 2 * np.pi)
    wave = 1 + 0.4 * np.sin(2 * np.pi * np.arange(n) / season + phase)
    return level * wave * rng.lognormal(0.0, 0.4, n)


def simulate_media(spec: CaseSpec, rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
    n = PERIODS_PER_YEAR[spec.grain] * spec.years
    frame = pd.DataFrame(
        {"period_start": pd.date_range("2021-01-04", periods=n, freq=FREQUENCY[spec.grain])}
    )
    channels = [f"act_ch{i + 1}" for i in range(spec.n_channels)]
    for name in channels:
        frame[name] = _media(rng, n, spec.grain)
        cost = rng.uniform(2.0, 20.0) * rng.uniform(0.9, 1.1, n)
        frame[name.replace("act_", "spend_")] = frame[name] / 1000.0 * cost
    shocks = rng.normal(0.0, 0.03, n)
    frame["ctrl_price"] = 1.0 + np.convolve(shocks, 0.7 ** np.arange(8))[:n]
    return frame, channels


def _feature_config(spec: CaseSpec, decays: dict[str, float], k: float) -> SimpleNamespace:
    ns = SimpleNamespace
    return ns(
        adstock=ns(decay_default=0.5, per_channel=dict(decays), max_lag=spec.max_lag),
        saturation=ns(enabled=True, type=spec.saturation, K=k, S=1.0),
        seasonality=ns(enabled=True, K=2),
        trend=ns(enabled=True),
    )


def true_structure(spec: CaseSpec) -> ModelStructure:
    recipe = MediaRecipe(spec.saturation, spec.max_lag, 0.5, 1.0, learn_slope=False)
    return {
        "learned": LearnedStructure(recipe),
        "additive": AdditiveStructure(recipe),
        "fixed": FIXED,
    }[spec.structure]


def simulate_case(spec: CaseSpec) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The panel (one entity) and its truth."""
    rng = np.random.default_rng(spec.seed)
    frame, channels = simulate_media(spec, rng)
    if spec.correlated > 0:
        _correlate(frame, channels, spec.correlated, np.random.default_rng(spec.seed + 7919))
    c = len(channels)
    decays = dict(zip(channels, rng.uniform(0.1, 0.8, c).round(3), strict=True))
    half_sat = rng.uniform(0.2, 1.0, c).round(3)
    if spec.correlated > 0:  # bought together: the same carryover and saturation too
        decays[channels[1]] = decays[channels[0]]
        half_sat[1] = half_sat[0]
    k_fixed = 0.5  # the fixed structure's K (its features are transformed before the fit)
    if spec.structure == "fixed":
        half_sat = np.full(c, k_fixed)
    frame["sales"] = 1.0
    fs = build_features(
        frame, "sales", channels, ["ctrl_price"], _feature_config(spec, decays, k_fixed), spec.grain
    )
    effect_scale = {"learned": (0.03, 0.12), "additive": (0.03, 0.12), "fixed": (0.02, 0.08)}
    beta = rng.uniform(*effect_scale[spec.structure], c)
    if spec.placebo:
        beta[-1] = 0.0
    if spec.betas is not None:
        beta = np.asarray(spec.betas, dtype=float)
    gamma = rng.normal(0.0, 0.03, len(fs.control_names))
    gamma[0] = -0.04  # price lowers sales
    params: dict[str, Any] = {
        "beta": beta,
        "gamma": gamma,
        "decay": np.array([decays[ch] for ch in channels]),
        "half_saturation": half_sat,
    }
    structure = true_structure(spec)
    noise = rng.normal(0.0, spec.noise, len(fs.target))
    if spec.structure == "additive":
        base = 0.6
        level = structure.mu(Draws.single({**params, "intercept": base}), fs)[0]
        sales = ADDITIVE_LEVEL * np.clip(level + noise, 0.05, None)
        scale = float(sales.mean())  # the model scales by the mean target: params follow
        ratio = ADDITIVE_LEVEL / scale
        model_params = {
            **params,
            "beta": beta * ratio,
            "gamma": gamma * ratio,
            "intercept": base * ratio,
        }
        truth_features = replace(fs, target_mean=scale)
    else:
        signal = structure.mu(Draws.single({**params, "intercept": 0.0}), fs)[0]
        log_sales = LOG_LEVEL + signal + noise
        sales = np.expm1(log_sales)
        offset = float(log_sales.mean())
        model_params = {**params, "intercept": LOG_LEVEL - offset}
        truth_features = replace(fs, target_offset=offset)
    frame["sales"] = sales
    truth = _truth(spec, structure, model_params, truth_features, frame, channels, decays, half_sat)
    panel = frame.assign(entity_id="brand")
    panel["period_start"] = panel["period_start"].dt.strftime("%Y-%m-%d")
    spend_cols = [ch.replace("act_", "spend_") for ch in channels]
    columns = ["entity_id", "period_start", "sales", *channels, *spend_cols, "ctrl_price"]
    return panel[columns], truth


def _correlate(
    frame: pd.DataFrame, channels: list[str], noise: float, rng: np.random.Generator
) -> None:
    """The second channel bought with the first: its activity the first's times noise."""
    first, second = channels[0], channels[1]
    ratio = rng.uniform(0.3, 3.0)
    frame[second] = frame[first] * ratio * rng.lognormal(0.0, noise, len(frame))
    cost = rng.uniform(2.0, 20.0) * rng.uniform(0.9, 1.1, len(frame))
    frame[second.replace("act_", "spend_")] = frame[second] / 1000.0 * cost


def true_draws(truth: dict[str, Any]) -> Draws:
    """The truth of `simulate_case` as one posterior draw: evaluate the true structure (response
    curves, an allocation) with the same code that evaluates a fit."""
    return Draws.single(truth["parameters"])


def true_response(spec: CaseSpec, truth: dict[str, Any], features: FeatureSet) -> MediaResponse:
    """The true response to spend over `features`' periods (e.g. a fitted run's training window,
    built from the simulated data): what a plan found on the fit is worth under the truth."""
    features_cfg = _feature_config(spec, truth["decay"], 0.5)
    return media_response(true_structure(spec), true_draws(truth), features, features_cfg)


def _truth(
    spec: CaseSpec,
    structure: ModelStructure,
    params: dict[str, Any],
    features: FeatureSet,
    frame: pd.DataFrame,
    channels: list[str],
    decays: dict[str, float],
    half_saturation: np.ndarray,
) -> dict[str, Any]:
    parts = structure.predict(Draws.single(params), features)
    contribution = parts.contributions[0].sum(axis=0)
    spend = np.array([frame[ch.replace("act_", "spend_")].sum() for ch in channels])
    return {
        "case": spec.name,
        "spec": spec.__dict__,
        "channels": channels,
        "placebo_channels": [channels[-1]] if spec.placebo else [],
        "decay": decays,
        "half_saturation": dict(zip(channels, half_saturation.tolist(), strict=True)),
        "beta": dict(zip(channels, np.asarray(params["beta"]).tolist(), strict=True)),
        # Every parameter of the structure's mean, as `true_draws` reads them back.
        "parameters": {k: np.asarray(v, dtype=float).tolist() for k, v in params.items()},
        "contribution_total": dict(zip(channels, contribution.tolist(), strict=True)),
        "spend_total": dict(zip(channels, spend.tolist(), strict=True)),
        "roas": dict(zip(channels, (contribution / spend).tolist(), strict=True)),
        "share_of_fitted": float(contribution.sum() / parts.fitted[0].sum()),
    }
