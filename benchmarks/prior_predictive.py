"""Prior predictive check of the learned structures' default priors (conf/model/*.yaml).

    python benchmarks/prior_predictive.py [--model default|additive] [--draws 4000]

Draws every parameter from its prior on the bundled sample's media and prints what the priors
imply before seeing sales: each channel's share of the fitted target, its ROAS, and the
carryover half-life. Defaults are chosen so these ranges cover every plausible answer (shares
from ~0 to well over the 5-30% MMMs usually find, ROAS from ~0 to tens) without putting much
mass on absurd ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recovery_study import compose  # noqa: E402
from mmm_runner.features.build import build_features  # noqa: E402
from mmm_runner.model import structure_for  # noqa: E402
from mmm_runner.model.parameters import Draws  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("override", nargs="*", help="config overrides, e.g. model.sigma_beta...")
    args = parser.parse_args()
    cfg = compose([f"model={args.model}", *args.override])
    panel = pd.read_csv(ROOT / "sample_data" / "mmm_sample_small.csv", parse_dates=["period_start"])
    channels = list(cfg.dataset.drivers)
    sums = [c for c in panel.columns if c.startswith(("act_", "spend_")) or c == "sales"]
    brand = panel.groupby("period_start", as_index=False).agg(
        {**{c: "sum" for c in sums}, "ctrl_price": "mean"}
    )
    features = build_features(brand, "sales", channels, ["ctrl_price"], cfg.features, "WEEK")
    structure = structure_for(cfg.model, cfg.features)
    draws = Draws(structure.prior_draws(cfg.model, features, args.draws), args.draws)
    parts = structure.predict(draws, features)
    totals = parts.contributions.sum(axis=1)  # (S, C)
    share = totals / parts.fitted.sum(axis=1)[:, None]
    quantiles = [0.03, 0.25, 0.5, 0.75, 0.97]
    print(f"model={args.model}: prior quantiles {quantiles} over {args.draws} draws")
    for i, channel in enumerate(channels):
        spend = brand[channel.replace("act_", "spend_")].sum()
        roas = totals[:, i] / spend
        half_life = np.log(0.5) / np.log(draws["decay"][:, i])
        print(f"{channel:<12} share {np.round(np.quantile(share[:, i], quantiles), 3)}")
        print(f"{'':<12} ROAS  {np.round(np.quantile(roas, quantiles), 2)}")
        print(f"{'':<12} half-life (periods) {np.round(np.quantile(half_life, quantiles), 2)}")
    media = share.sum(axis=1)
    print(f"all media share of fitted: {np.round(np.quantile(media, quantiles), 3)}")


if __name__ == "__main__":
    main()
