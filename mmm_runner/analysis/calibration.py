"""Calibration in a run: its terms from the run's data, and whether the fit agrees with them.

`run_calibration` resolves the `calibration` group and `model.roas_prior` against the features
and each channel's spend (model/calibration.py builds the terms). `calibration_report` is the
`calibration` section of diagnostics.json: per lift test the measured lift +- se against the
posterior predicted lift (mean, 94% HDI), per ROAS prior the prior against the posterior ROAS.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.analysis.intervals import summarize
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.calibration import (
    Calibration,
    build_calibration,
    implied_roas,
    predicted_lift,
)
from mmm_runner.model.parameters import Draws
from mmm_runner.model.structure import ModelStructure

AGREE_Z = 2.0  # |predicted mean - lift| within 2 combined sds: the model agrees with the test
METHOD = (
    "lift ~ Normal(predicted_lift, lift_se) per test; predicted_lift = the target with the "
    "channel's activity and spend times (1 + spend_change) in start..end, minus the target as "
    "observed, summed over start..measure_end (target's units; the fitted centring and scaling "
    "of the media kept as observed). z = (predicted mean - lift) / sqrt(lift_se^2 + predicted "
    "sd^2); agrees when |z| <= 2."
)


def period_spend(canonical: pd.DataFrame, plan: Any, features: FeatureSet) -> np.ndarray:
    """(T_train, C) each channel's spend per training period (NaN without a spend column)."""
    window = canonical.iloc[: features.n_fit]
    columns = []
    for name in features.channel_names:
        column = plan.spend_for.get(name)
        values = window[column].to_numpy(float) if column else np.full(len(window), np.nan)
        columns.append(values)
    return np.column_stack(columns) if columns else np.zeros((len(window), 0))


def run_calibration(
    cfg: Any, structure: ModelStructure, features: FeatureSet, canonical: pd.DataFrame, plan: Any
) -> Calibration | None:
    """The run's calibration terms, or None when none is configured (checked against the data:
    an entry naming an unknown channel or a window outside the training window fails here)."""
    return build_calibration(cfg, structure, features, period_spend(canonical, plan, features))


def calibration_report(
    calibration: Calibration, structure: ModelStructure, draws: Draws, features: FeatureSet
) -> dict[str, Any]:
    """diagnostics.json `calibration`: `features` is the training window."""
    data = structure.model_data(features)
    tests = []
    for test in calibration.tests:
        lift = predicted_lift(structure, draws.values, data, test, features, np)
        predicted = summarize(lift)
        z = (predicted["mean"] - test.lift) / float(np.hypot(test.lift_se, predicted["sd"]))
        tests.append(
            {
                "name": test.name,
                "entry": test.label,
                "channel": test.channel,
                "start": test.start,
                "end": test.end,
                "measure_end": test.measure_end,
                "spend_change": test.spend_change,
                "spend_delta": test.spend_delta if np.isfinite(test.spend_delta) else None,
                "periods_changed": int(test.window.sum()),
                "periods_measured": int(test.measured.sum()),
                "measured": {"lift": test.lift, "se": test.lift_se},
                "predicted": predicted,
                "z": float(z),
                "agrees": bool(abs(z) <= AGREE_Z),
            }
        )
    priors = []
    if calibration.roas_priors:
        roas = implied_roas(calibration, structure, draws.values, data)
        for prior in calibration.roas_priors:
            priors.append(
                {
                    "channel": prior.channel,
                    "key": prior.spec.key,
                    "prior": {"dist": prior.spec.dist, "params": dict(prior.spec.params)},
                    "posterior_roas": summarize(roas[:, prior.index]),
                }
            )
    return {
        "method": METHOD,
        "roas_prior_method": (
            "roas_c = beta_c * sum_t s h_c[t] / sd(h_c) / spend_c (additive: the reported ROAS); "
            "log1p: sum_t (1 + y_t) (1 - exp(-beta_c h_c[t] / sd(h_c))) / spend_c, the removal "
            "counterfactual at the observed level"
        ),
        "lift_tests": tests,
        "roas_priors": priors,
    }
