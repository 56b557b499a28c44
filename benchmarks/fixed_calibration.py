"""Is `model=fixed` calibrated on the simulator's `fixed` data? Chance against bias, many cases.

    python benchmarks/fixed_calibration.py            # 90 cases, about 2 minutes at sampler=fast

The recovery study's fixed section has ~40 channels: too few to tell a miscalibrated model from
binomial noise. Here 90 pre-declared cases (40 of mixed shapes, seeds 101-140; 5 replicates of
each of the study's ten fixed shapes, seeds 1000-1049) are simulated, their features built
exactly as the pipeline builds them (the study's own config), fitted correctly specified with
`model=fixed sampler=fast`, and each real channel's ROAS and beta scored against the truth: 94%
HDI coverage, z = (posterior mean - truth) / posterior sd (calibrated: mean 0, sd 1, half
positive) and the truth's posterior quantile (calibrated: uniform). Direct fits skip the SQL
stages and the run directory (seconds, not minutes, per case); `tests/test_synthetic.py` checks
those build the same features.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from recovery_study import CASES, FIXED_SHAPES, case_overrides, compose  # noqa: E402

from mmm_runner.analysis.intervals import summarize  # noqa: E402
from mmm_runner.features.build import build_features  # noqa: E402
from mmm_runner.synthetic import CaseSpec, simulate_case  # noqa: E402

MIXED = [
    CaseSpec(
        "fixed",
        (3, 4, 5, 2, 6)[i % 5],
        "MONTH" if i % 5 == 4 else "WEEK",
        4 if i % 5 == 4 else 2 + i % 3,
        placebo=i % 10 == 9,
        seed=seed,
    )
    for i, seed in enumerate(range(101, 141))
]
REPLICATES = [
    CaseSpec("fixed", n, grain, years, placebo=placebo, seed=1000 + 10 * k + j)
    for k, (n, grain, years, placebo) in enumerate(FIXED_SHAPES)
    for j in range(5)
]


def score_case(spec: CaseSpec) -> list[dict]:
    """Fit one case and score each real channel's ROAS and beta against the truth."""
    from mmm_runner.inference.fit import fit
    from mmm_runner.model.fixed import FIXED

    panel, truth = simulate_case(spec)
    csv = Path(f"{spec.name}.csv")  # not read: the panel is used as simulated
    cfg = compose([*case_overrides(spec, truth, csv, "fixed"), "sampler=fast"])
    channels = truth["channels"]
    features = build_features(
        panel, "sales", channels, ["ctrl_price"], cfg.features, spec.grain
    )  # the pipeline's call (dataset.controls=[] picks ctrl_price)
    draws = FIXED.draws(fit(FIXED, features, cfg.model, cfg.sampler).idata, cfg.model, features)
    spend = np.array([truth["spend_total"][c] for c in channels])
    roas = FIXED.predict(draws, features).contributions.sum(axis=1) / spend
    rows = []
    for i, channel in enumerate(channels):
        if channel in truth["placebo_channels"]:
            continue
        true_roas, true_beta = truth["roas"][channel], truth["beta"][channel]
        s, beta = summarize(roas[:, i]), draws["beta"][:, i]
        rows.append(
            {
                "case": spec.name,
                "channel": channel,
                "covered": s["hdi_lower"] <= true_roas <= s["hdi_upper"],
                "z_roas": (s["mean"] - true_roas) / s["sd"],
                "q_roas": float((roas[:, i] < true_roas).mean()),
                "z_beta": float((beta.mean() - true_beta) / beta.std()),
                "q_beta": float((beta < true_beta).mean()),
            }
        )
    return rows


def report(rows: list[dict]) -> dict:
    z, zb = np.array([r["z_roas"] for r in rows]), np.array([r["z_beta"] for r in rows])
    return {
        "channels": len(rows),
        "coverage_94": float(np.mean([r["covered"] for r in rows])),
        "z_roas_mean": float(z.mean()),
        "z_roas_sd": float(z.std(ddof=1)),
        "share_mean_above_truth": float(np.mean(z > 0)),
        "sign_test_p": float(stats.binomtest(int((z > 0).sum()), len(z)).pvalue),
        "z_beta_mean": float(zb.mean()),
        "z_beta_sd": float(zb.std(ddof=1)),
        "ks_uniform_p_roas": float(stats.kstest([r["q_roas"] for r in rows], "uniform").pvalue),
        "ks_uniform_p_beta": float(stats.kstest([r["q_beta"] for r in rows], "uniform").pvalue),
    }


def main() -> None:
    study = [spec for spec, _ in CASES if spec.structure == "fixed"]
    batches = {"mixed": MIXED, "replicates": REPLICATES, "study s21-s30": study[:10]}
    scored = {}
    for label, specs in batches.items():
        scored[label] = [row for spec in specs for row in score_case(spec)]
        print(label, json.dumps(report(scored[label]), indent=2), flush=True)
    pooled = scored["mixed"] + scored["replicates"]
    print("pooled (mixed + replicates)", json.dumps(report(pooled), indent=2))
    # How often a study of the ten shapes (one replicate each) falls below the 90% bar.
    by_case: dict[str, list[bool]] = {}
    for r in scored["replicates"]:
        by_case.setdefault(r["case"], []).append(r["covered"])
    shapes = [[by_case[s.name] for s in REPLICATES[5 * k : 5 * k + 5]] for k in range(10)]
    rng = np.random.default_rng(0)
    coverage = []
    for _ in range(20_000):
        hits = [h for reps in shapes for h in reps[rng.integers(5)]]
        coverage.append(np.mean(hits))
    coverage = np.array(coverage)
    print(
        f"studies of the ten shapes from the replicates: P(coverage < 0.90) = "
        f"{np.mean(coverage < 0.9):.3f}, P(coverage <= 32/37) = {np.mean(coverage <= 32 / 37):.3f}"
    )
    n = sum(len(reps[0]) for reps in shapes)  # real channels in one study: 37
    print(
        f"binomial, n={n}, p=0.94: P(>= 5 misses) = {stats.binom.sf(4, n, 0.06):.3f}, "
        f"P(coverage >= 0.90) = {stats.binom.cdf(int(n - np.ceil(0.9 * n)), n, 0.06):.3f}"
    )


if __name__ == "__main__":
    main()
