"""Calibration study: does one lift test fix two channels the data cannot tell apart?

    python benchmarks/calibration_study.py                 # seeds 0-3
    python benchmarks/calibration_study.py --seeds 0 1 --draws 500

Each case (`CaseSpec(correlated=0.2)`): act_ch2 is bought with act_ch1 (the same flighting times
LogNormal(0, 0.2) noise, the same carryover and saturation) but does almost nothing
(beta 0.10 vs 0.01); act_ch3 is independent. `model=default` is fitted alone, then with one
8-week holdout of act_ch1 whose lift is the truth's own counterfactual (se 10%), then with a
contradicting test (2.5x the true lift) at a tiny and a huge se. Printed: each channel's true
ROAS and the posterior mean and 94% HDI of each fit (tests/test_calibration.py asserts the same).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmm_runner.analysis.intervals import hdi  # noqa: E402
from mmm_runner.config.calibration import LiftTestConfig  # noqa: E402
from mmm_runner.config.schema import FeaturesConfig, ModelConfig, SamplerConfig  # noqa: E402
from mmm_runner.features.build import build_features  # noqa: E402
from mmm_runner.inference.fit import fit  # noqa: E402
from mmm_runner.model import structure_for  # noqa: E402
from mmm_runner.model.calibration import build_calibration, predicted_lift  # noqa: E402
from mmm_runner.model.parameters import Draws  # noqa: E402
from mmm_runner.resources import conf_dir  # noqa: E402
from mmm_runner.synthetic import CaseSpec, simulate_case, true_structure  # noqa: E402

WINDOW = {"start": "2022-03-07", "end": "2022-04-25", "measure_end": "2022-05-23"}


def model_config() -> object:
    node = OmegaConf.structured(ModelConfig)
    return OmegaConf.merge(node, OmegaConf.load(conf_dir() / "model" / "default.yaml"))


def study(seed: int, draws: int, tune: int, correlated: float) -> list[str]:
    betas = (0.10, 0.01, 0.06)
    spec = CaseSpec("learned", 3, "WEEK", 3, seed=seed, correlated=correlated, betas=betas)
    panel, truth = simulate_case(spec)
    panel["period_start"] = pd.to_datetime(panel["period_start"])
    features_cfg = OmegaConf.structured(FeaturesConfig)
    channels = truth["channels"]
    features = build_features(panel, "sales", channels, ["ctrl_price"], features_cfg, "WEEK")
    spend = panel[[c.replace("act_", "spend_") for c in channels]].to_numpy(float)
    model_cfg = model_config()
    structure = structure_for(model_cfg, features_cfg)
    sampler = OmegaConf.structured(SamplerConfig(draws=draws, tune=tune, chains=2, random_seed=1))
    training = features.training
    data = structure.model_data(training)

    def cfg(lift: float, se: float) -> SimpleNamespace:
        test = LiftTestConfig(channel="act_ch1", spend_change=-1.0, lift=lift, lift_se=se, **WINDOW)
        return SimpleNamespace(
            calibration=SimpleNamespace(entries=[test], path=None),
            model=SimpleNamespace(roas_prior={}),
        )

    probe = build_calibration(cfg(-1.0, 1.0), structure, features, spend)
    assert probe is not None
    params = Draws.single(truth["parameters"]).values
    true_lift = float(
        predicted_lift(true_structure(spec), params, data, probe.tests[0], training, np)[0]
    )
    true_roas = np.array([truth["roas"][c] for c in channels])
    lines = [
        f"seed {seed}: corr(act_ch1, act_ch2) {np.corrcoef(panel.act_ch1, panel.act_ch2)[0, 1]:.3f}"
        f", true lift of the holdout {true_lift:,.0f}",
        "  fit                      " + "".join(f"{c:>28}" for c in channels) + "   lift (model)",
        "  truth                    " + "".join(f"{r:>28.3f}" for r in true_roas),
    ]
    fits = [
        ("alone", None),
        ("+ true test, se 10%", (true_lift, 0.1 * abs(true_lift))),
        ("+ 2.5x test, se 1%", (2.5 * true_lift, 0.025 * abs(true_lift))),
        ("+ 2.5x test, se 1e4x", (2.5 * true_lift, 2.5e4 * abs(true_lift))),
    ]
    for label, lift in fits:
        calibration = (
            None if lift is None else build_calibration(cfg(*lift), structure, features, spend)
        )
        fitted = structure if calibration is None else structure.with_terms(calibration)
        start = time.perf_counter()
        result = fit(fitted, training, model_cfg, sampler)
        seconds = time.perf_counter() - start
        draws_ = structure.draws(result.idata, model_cfg, training)
        roas = structure.predict(draws_, training).contributions.sum(1) / spend.sum(0)
        cells = []
        for i in range(len(channels)):
            low, high = hdi(roas[:, i])
            mark = "*" if low <= true_roas[i] <= high else " "
            cells.append(f"{roas[:, i].mean():7.3f} [{low:6.3f}, {high:6.3f}]{mark}")
        model_lift = predicted_lift(structure, draws_.values, data, probe.tests[0], training, np)
        lines.append(
            f"  {label:<24}" + "".join(f"{c:>28}" for c in cells)
            + f"   {model_lift.mean():,.0f}  ({result.details['path']}, {seconds:.0f}s)"
        )  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--tune", type=int, default=400)
    parser.add_argument("--correlated", type=float, default=0.2)
    args = parser.parse_args()
    for seed in args.seeds:
        print("\n".join(study(seed, args.draws, args.tune, args.correlated)), flush=True)
    print("* = the truth lies in the 94% HDI")


if __name__ == "__main__":
    main()
