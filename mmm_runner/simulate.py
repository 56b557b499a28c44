"""Simulate the bundled sample from the `fixed` structure's own equations, with known truth.

`python -m mmm_runner.simulate` rewrites sample_data/mmm_sample_small.csv and
sample_data/mmm_sample_small_truth.json, byte for byte the same every time (fixed seed).

The brand-level series is drawn from the model itself (features built by the same code the
pipeline fits with), then split across entities with shares that sum exactly to the brand
total, so aggregating the panel recovers the simulated brand series and its truth.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from mmm_runner.features.build import build_features
from mmm_runner.model.fixed import FIXED
from mmm_runner.model.parameters import Draws

SEED = 20261124
N_PERIODS = 156
ENTITIES = ["store_north", "store_south", "store_east", "store_west"]
CHANNELS = ["act_tv", "act_digital", "act_radio"]
COST_PER_THOUSAND = {"act_tv": 12.0, "act_digital": 6.0, "act_radio": 4.0}
TRUE_DECAY = {"act_tv": 0.7, "act_digital": 0.3, "act_radio": 0.5}
TRUE_BETA = {"act_tv": 0.10, "act_digital": 0.06, "act_radio": 0.04}
TRUE_GAMMA = {
    "ctrl_price": -0.05,
    "fourier_sin_1": 0.06,
    "fourier_cos_1": 0.03,
    "fourier_sin_2": 0.01,
    "fourier_cos_2": -0.01,
    "trend": 0.04,
}
TRUE_SIGMA = 0.04
TRUE_NU = 10.0
LOG_LEVEL = float(np.log(100_000.0))


def true_feature_config() -> SimpleNamespace:
    """Feature settings the data is simulated with (= conf/features/sample_truth.yaml)."""
    ns = SimpleNamespace
    return ns(
        adstock=ns(decay_default=0.5, per_channel=dict(TRUE_DECAY), max_lag=13),
        saturation=ns(enabled=True, type="hill", K=0.5, S=1.0),
        seasonality=ns(enabled=True, K=2),
        trend=ns(enabled=True),
    )


def _flighted(rng: np.random.Generator, n: int, level: float, on: tuple, off: tuple) -> np.ndarray:
    """Bursts of activity: `on` weeks at a varying level, then `off` weeks dark."""
    out = np.zeros(n)
    t = int(rng.integers(0, 3))
    while t < n:
        length = int(rng.integers(*on))
        out[t : t + length] = level * rng.uniform(0.6, 1.4, size=min(length, n - t))
        t += length + int(rng.integers(*off))
    return out


def simulate_brand(rng: np.random.Generator) -> pd.DataFrame:
    """Brand-level media, spend and price for N_PERIODS weeks (before the target)."""
    n = N_PERIODS
    week = np.arange(n)
    media = {
        "act_tv": _flighted(rng, n, 2.0e6, (3, 7), (2, 6)),
        "act_digital": 6.0e5
        * (1 + 0.3 * np.sin(2 * np.pi * week / 52.1775))
        * rng.lognormal(0.0, 0.35, n),
        "act_radio": _flighted(rng, n, 4.0e5, (2, 5), (1, 4)),
    }
    frame = pd.DataFrame({"period_start": pd.date_range("2022-01-03", periods=n, freq="7D")})
    for name, activity in media.items():
        frame[name] = activity
        cpm = COST_PER_THOUSAND[name] * rng.uniform(0.9, 1.1, n)
        frame[name.replace("act_", "spend_")] = activity / 1000.0 * cpm
    shocks = rng.normal(0.0, 0.02, n)
    frame["ctrl_price"] = 1.0 + np.convolve(shocks, 0.8 ** np.arange(12))[:n]
    return frame


def simulate(seed: int = SEED) -> tuple[pd.DataFrame, dict]:
    """The entity panel and its truth (parameters, contributions, ROAS, shares)."""
    rng = np.random.default_rng(seed)
    brand = simulate_brand(rng)
    brand["sales"] = 1.0  # placeholder: the target is drawn below from the features
    fs = build_features(brand, "sales", CHANNELS, ["ctrl_price"], true_feature_config(), "WEEK")
    params = {
        "intercept": 0.0,
        "beta": [TRUE_BETA[c] for c in fs.channel_names],
        "gamma": [TRUE_GAMMA[c] for c in fs.control_names],
    }
    signal = FIXED.mu(Draws.single(params), fs)[0]  # the structure's mean, intercept 0
    noise = TRUE_SIGMA * rng.standard_t(TRUE_NU, size=N_PERIODS)
    log_sales = LOG_LEVEL + signal + noise
    brand["sales"] = np.expm1(log_sales)
    offset = float(log_sales.mean())
    intercept = LOG_LEVEL - offset  # the model's intercept once the target is centred by m

    truth_draw = Draws.single({**params, "intercept": intercept})
    parts = FIXED.predict(truth_draw, replace(fs, target_offset=offset))
    spend = {c: float(brand[c.replace("act_", "spend_")].sum()) for c in CHANNELS}
    contribution = dict(zip(CHANNELS, parts.contributions[0].sum(axis=0).tolist(), strict=True))
    total_fitted = float(parts.fitted[0].sum())
    truth = {
        "description": "Truth of sample_data/mmm_sample_small.csv (python -m mmm_runner.simulate)",
        "seed": seed,
        "n_periods": N_PERIODS,
        "entities": ENTITIES,
        "features": {
            "adstock": {"per_channel": TRUE_DECAY, "max_lag": 13},
            "saturation": {"enabled": True, "type": "hill", "K": 0.5, "S": 1.0},
            "seasonality": {"enabled": True, "K": 2},
            "trend": {"enabled": True},
        },
        "parameters": {
            "intercept": intercept,
            "beta": TRUE_BETA,
            "gamma": TRUE_GAMMA,
            "sigma": TRUE_SIGMA,
            "nu": TRUE_NU,
            "target_offset_m": offset,
        },
        "decomposition_method": FIXED.contribution_method,
        "contribution_total": contribution,
        "baseline_total": float(parts.baseline[0].sum()),
        "fitted_total": total_fitted,
        "share_of_fitted": {c: v / total_fitted for c, v in contribution.items()},
        "spend_total": spend,
        "roas": {c: contribution[c] / spend[c] for c in CHANNELS},
        "roi": {c: (contribution[c] - spend[c]) / spend[c] for c in CHANNELS},
    }
    return split_into_entities(brand, rng), truth


def split_into_entities(brand: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Entity rows whose sums (media, spend, sales) and mean (price) equal the brand series."""
    n_ent = len(ENTITIES)
    base_share = rng.dirichlet(np.full(n_ent, 8.0))
    rows = []
    summed = [c for c in brand.columns if c.startswith(("act_", "spend_")) or c == "sales"]
    shares = {c: rng.dirichlet(base_share * 200.0, size=len(brand)) for c in summed}
    price_dev = rng.normal(0.0, 0.03, size=(len(brand), n_ent))
    price_dev -= price_dev.mean(axis=1, keepdims=True)
    for e, entity in enumerate(ENTITIES):
        part = pd.DataFrame({"entity_id": entity, "period_start": brand["period_start"]})
        part["sales"] = brand["sales"] * shares["sales"][:, e]
        for c in summed:
            if c != "sales":
                part[c] = brand[c] * shares[c][:, e]
        part["ctrl_price"] = brand["ctrl_price"] + price_dev[:, e]
        rows.append(part)
    panel = pd.concat(rows, ignore_index=True)
    panel["period_start"] = panel["period_start"].dt.strftime("%Y-%m-%d")
    columns = ["entity_id", "period_start", "sales", *CHANNELS]
    columns += [c.replace("act_", "spend_") for c in CHANNELS] + ["ctrl_price"]
    return panel[columns].sort_values(["entity_id", "period_start"], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--out", type=Path, default=root / "sample_data" / "mmm_sample_small.csv")
    args = parser.parse_args()
    panel, truth = simulate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    panel.to_csv(args.out, index=False, float_format="%.10g")
    truth_path = args.out.with_name(args.out.stem + "_truth.json")
    truth_path.write_text(json.dumps(truth, indent=2) + "\n")
    print(f"wrote {args.out} ({len(panel)} rows) and {truth_path}")


if __name__ == "__main__":
    main()
