"""An entity panel with known truth (model.level=entity recovery), simulated from the entity
structure's own equations.

Entities differ in size, in how hard and when they use each channel (their own flighting), and
in their media effects: `beta[e, c] = beta[c] exp(tau z[e, c])`, partial pooling as the entity
model assumes; carry-over and half-saturation are shared per channel. The truth (per entity and
brand ROAS) comes from the structure's `predict_entities`, the method the fit reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.features.build import build_features
from mmm_runner.features.entity import EntityPanel, build_panel
from mmm_runner.model.entity import EntityStructure
from mmm_runner.model.learned import MediaRecipe
from mmm_runner.model.parameters import Draws
from mmm_runner.synthetic import ADDITIVE_LEVEL, LOG_LEVEL, _media

CONTROLS = ["ctrl_price"]


@dataclass(frozen=True)
class EntitySpec:
    """One simulated panel: how many entities and channels, and how much entities differ."""

    n_entities: int = 10
    n_channels: int = 3
    weeks: int = 156
    tau: float = 0.3  # sd of an entity's log effect around the channel's
    noise: float = 0.05  # noise sd on the model scale
    structure: str = "learned"  # learned | additive
    population: bool = False  # add a `population` column (per-capita scaling)
    seed: int = 0

    @property
    def name(self) -> str:
        pop = "_pop" if self.population else ""
        return (
            f"entity_{self.structure}_{self.n_entities}e_{self.n_channels}ch_{self.weeks}w_"
            f"tau{self.tau}{pop}_s{self.seed}"
        )


def _features_cfg(max_lag: int = 13) -> SimpleNamespace:
    ns = SimpleNamespace
    return ns(
        adstock=ns(decay_default=0.5, per_channel={}, max_lag=max_lag),
        saturation=ns(enabled=True, type="hill", K=0.5, S=1.0),
        seasonality=ns(enabled=True, K=2),
        trend=ns(enabled=True),
    )


def _long_frame(spec: EntitySpec, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Media, spend and price per entity and week; each entity's size."""
    n, n_c = spec.weeks, spec.n_channels
    periods = pd.date_range("2021-01-04", periods=n, freq="7D")
    size = rng.lognormal(0.0, 0.6, spec.n_entities)
    level = rng.uniform(2e4, 5e5, n_c)
    cost = rng.uniform(2.0, 20.0, n_c)
    frames = []
    for e in range(spec.n_entities):
        frame = pd.DataFrame({"entity_id": f"E{e:02d}", "period_start": periods})
        for c in range(n_c):
            pattern = _media(rng, n, "WEEK")
            intensity = rng.lognormal(0.0, 0.5)  # entities lean on channels differently
            act = pattern / pattern.mean() * level[c] * size[e] * intensity
            frame[f"act_ch{c + 1}"] = act
            frame[f"spend_ch{c + 1}"] = act / 1000.0 * cost[c] * rng.uniform(0.9, 1.1, n)
        shocks = rng.normal(0.0, 0.03, n)
        frame["ctrl_price"] = 1.0 + np.convolve(shocks, 0.7 ** np.arange(8))[:n]
        if spec.population:
            frame["population"] = 1e5 * size[e]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), size


def panel_features(
    frame: pd.DataFrame, spec: EntitySpec, channels: list[str]
) -> tuple[Any, EntityPanel]:
    """The brand FeatureSet with its entity panel attached, as the pipeline builds them."""
    frame = frame.assign(period_start=pd.to_datetime(frame["period_start"]))
    brand = frame.groupby("period_start", as_index=False).agg(
        {**{c: "sum" for c in [*channels, "sales"]}, "ctrl_price": "mean"}
    )
    features = build_features(brand, "sales", channels, CONTROLS, _features_cfg(), "WEEK")
    spend_for = {c: c.replace("act_", "spend_") for c in channels}
    panel = build_panel(
        frame,
        "sales",
        channels,
        CONTROLS,
        spend_for,
        features.x_controls[:, len(CONTROLS) :],
        len(brand),
        "population" if spec.population else None,
    )
    features.panel = panel
    return features, panel


def simulate_entities(spec: EntitySpec) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The long panel (CSV-ready) and its truth: parameters, per-entity and brand ROAS."""
    rng = np.random.default_rng(spec.seed)
    frame, size = _long_frame(spec, rng)
    channels = [f"act_ch{c + 1}" for c in range(spec.n_channels)]
    n_e, n_c = spec.n_entities, spec.n_channels
    decay = rng.uniform(0.1, 0.8, n_c).round(3)
    half_saturation = rng.uniform(0.3, 1.0, n_c).round(3)
    beta = rng.uniform(0.03, 0.12, n_c)
    z = rng.normal(0.0, 1.0, (n_e, n_c))
    beta_entity = beta * np.exp(spec.tau * z)
    additive = spec.structure == "additive"
    structure = EntityStructure(MediaRecipe("hill", 13, 0.5, 1.0, False), additive, additive)
    frame["sales"] = 1.0
    features, panel = panel_features(frame, spec, channels)
    gamma = rng.normal(0.0, 0.03, len(features.control_names))
    gamma[0] = -0.04  # price lowers sales
    params: dict[str, Any] = {
        "decay": decay,
        "half_saturation": half_saturation,
        "beta_entity": beta_entity,
        "gamma": np.broadcast_to(gamma, (n_e, len(gamma))).copy() if additive else gamma,
        "intercept": np.zeros(n_e),
    }
    noise = rng.normal(0.0, spec.noise, (n_e, spec.weeks))
    factor = panel.population_factor[:, None]
    if additive:
        params["intercept"] = np.full(n_e, 0.6)
        level = structure.mu(Draws.single(params), features)[0]
        scale = ADDITIVE_LEVEL * (1.0 if spec.population else size)
        scaled = np.clip(level + noise, 0.05, None) * np.reshape(scale, (-1, 1))
        frame["sales"] = (scaled * factor).ravel()
    else:
        signal = structure.mu(Draws.single(params), features)[0]
        log_level = np.reshape(LOG_LEVEL + (0.0 if spec.population else np.log(size)), (-1, 1))
        frame["sales"] = (np.expm1(log_level + signal + noise) * factor).ravel()
    features, panel = panel_features(frame, spec, channels)  # the fit's own offsets and scales
    if additive:
        ratio = (ADDITIVE_LEVEL * (1.0 if spec.population else size)) / panel.target_mean
        params["intercept"] = params["intercept"] * ratio
        params["beta_entity"] = params["beta_entity"] * ratio[:, None]
        params["gamma"] = params["gamma"] * ratio[:, None]
    else:
        log_level = LOG_LEVEL + (0.0 if spec.population else np.log(size))
        params["intercept"] = log_level - panel.target_offset
    truth = _truth(spec, structure, params, features, channels)
    truth["parameters"]["beta_channel"] = beta.tolist()
    truth["parameters"]["z"] = z.tolist()
    out = frame.copy()
    out["period_start"] = out["period_start"].dt.strftime("%Y-%m-%d")
    return out, truth


def _truth(
    spec: EntitySpec,
    structure: EntityStructure,
    params: dict[str, Any],
    features: Any,
    channels: list[str],
) -> dict[str, Any]:
    parts = structure.predict_entities(Draws.single(params), features)
    contribution = parts.contributions[0].sum(axis=1)  # (E, C)
    spend = features.panel.spend.sum(axis=1)  # (E, C)
    brand = contribution.sum(0) / spend.sum(0)
    return {
        "case": spec.name,
        "spec": spec.__dict__,
        "channels": channels,
        "entities": features.panel.entity_names,
        "parameters": {k: np.asarray(v, dtype=float).tolist() for k, v in params.items()},
        "roas": dict(zip(channels, brand.tolist(), strict=True)),
        "entity_roas": {
            name: dict(zip(channels, (contribution[e] / spend[e]).tolist(), strict=True))
            for e, name in enumerate(features.panel.entity_names)
        },
        "spend_total": dict(zip(channels, spend.sum(0).tolist(), strict=True)),
        "share_of_fitted": float(contribution.sum() / parts.fitted[0].sum()),
    }
