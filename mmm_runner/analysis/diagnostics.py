"""Convergence diagnostics and the troubleshooting advice (docs/model.md, "Diagnostics")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmm_runner.analysis.intervals import HDI_PROB

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3
ADVICE = {
    "rhat": "R-hat > 1.01: raise sampler.tune, raise sampler.target_accept (0.95), "
    "check data quality.",
    "divergences": "Divergences: raise sampler.target_accept to 0.95-0.99, check for outliers.",
    "ess": "Low ESS: raise sampler.draws, raise sampler.chains.",
}

if TYPE_CHECKING:  # arviz is imported only where a posterior is handled
    from arviz import InferenceData


def loo_report(idata: Any) -> dict[str, Any]:
    """PSIS-LOO of the fit (arviz.loo), pointwise values included for model comparison."""
    import warnings

    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # high Pareto k is reported in the numbers instead
        loo = az.loo(idata, pointwise=True)
    return {
        "elpd_loo": float(loo.elpd_loo),
        "se": float(loo.se),
        "p_loo": float(loo.p_loo),
        "n_samples": int(loo.n_samples),
        "pareto_k": np.asarray(loo.pareto_k).ravel().tolist(),
        "loo_i": np.asarray(loo.loo_i).ravel().tolist(),
    }


def posterior_summary(idata: InferenceData, var_names: list[str]) -> pd.DataFrame:
    """arviz.summary, unrounded: the one place R-hat and ESS are computed for a run."""
    import arviz as az

    return az.summary(idata, var_names=var_names, hdi_prob=HDI_PROB, round_to="none")


def rounded_for_report(summary: pd.DataFrame) -> pd.DataFrame:
    """posterior_summary.json rounding, as arviz.summary's default: ESS 0, R-hat 2, rest 3."""
    decimals = {c: {"ess_bulk": 0, "ess_tail": 0, "r_hat": 2}.get(c, 3) for c in summary.columns}
    return summary.round(decimals)


def diagnose(idata: Any, summary: pd.DataFrame) -> dict[str, Any]:
    """Max R-hat, min bulk/tail ESS, divergences, E-BFMI per chain, and a converged verdict.

    `summary` is posterior_summary()'s table, so R-hat and ESS are not computed twice.
    """
    import arviz as az

    rhat = summary["r_hat"].dropna()  # all NaN with one chain
    max_rhat = float(rhat.max()) if len(rhat) else float("nan")
    min_bulk = float(np.nanmin(summary["ess_bulk"]))
    min_tail = float(np.nanmin(summary["ess_tail"]))
    divergences = int(idata.sample_stats["diverging"].values.sum())
    bfmi = [float(b) for b in az.bfmi(idata)]
    reasons, advice = [], []
    if int(idata.posterior.sizes["chain"]) < 2:
        reasons.append("R-hat needs at least 2 chains (sampler.chains)")
        advice.append("Run at least 2 chains: sampler.chains=2 (4 is better).")
    elif not max_rhat < RHAT_MAX:
        reasons.append(f"max R-hat {max_rhat:.4f} >= {RHAT_MAX}")
        advice.append(ADVICE["rhat"])
    if not min(min_bulk, min_tail) > ESS_MIN:
        reasons.append(f"min ESS (bulk {min_bulk:.0f}, tail {min_tail:.0f}) <= {ESS_MIN}")
        advice.append(ADVICE["ess"])
    warnings = []
    if divergences:
        warnings.append(f"{divergences} divergent transitions")
        advice.append(ADVICE["divergences"])
    low_bfmi = [i for i, b in enumerate(bfmi) if b < BFMI_MIN]
    if low_bfmi:
        warnings.append(f"E-BFMI below {BFMI_MIN} in chain(s) {low_bfmi}")
    n_chains = int(idata.posterior.sizes["chain"])
    return {
        "converged": not reasons,
        "reasons": reasons,
        "warnings": warnings,
        "advice": advice,
        "max_rhat": max_rhat,
        "min_ess_bulk": min_bulk,
        "min_ess_tail": min_tail,
        "divergences": divergences,
        "bfmi_per_chain": bfmi,
        "n_chains": n_chains,
        "n_draws": int(idata.posterior.sizes["draw"]),
        "thresholds": {"rhat_max": RHAT_MAX, "ess_min": ESS_MIN, "bfmi_min": BFMI_MIN},
    }
