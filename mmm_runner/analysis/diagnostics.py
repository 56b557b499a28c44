"""Convergence diagnostics and the troubleshooting advice (docs/model.md, "Diagnostics")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmm_runner.analysis.convergence import Diagnostics, by_variable, elements, joined
from mmm_runner.analysis.convergence import bfmi as chain_bfmi  # `bfmi` names its result below
from mmm_runner.analysis.intervals import HDI_PROB, hdi

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3
DIAGNOSTIC_COLUMNS = ("mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat")
ADVICE = {
    "rhat": "R-hat > 1.01: raise sampler.tune, raise sampler.target_accept (0.95), "
    "check data quality.",
    "divergences": "Divergences: raise sampler.target_accept to 0.95-0.99, check for outliers.",
    "ess": "Low ESS: raise sampler.draws, raise sampler.chains.",
}

if TYPE_CHECKING:  # arviz is imported only where a posterior is handled
    from arviz import InferenceData


def loo_report(idata: Any, per_var: dict[str, Diagnostics] | None = None) -> dict[str, Any]:
    """PSIS-LOO of the fit, pointwise values included for model comparison: arviz.loo's
    numbers, computed batched (analysis/psis.py). `per_var`: `element_diagnostics`' result."""
    import warnings

    from mmm_runner.analysis.psis import loo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # high Pareto k is reported in the numbers instead
        return loo(idata, per_var)


def element_diagnostics(idata: InferenceData) -> dict[str, Diagnostics]:
    """R-hat, ESS and MCSE of every posterior element, per variable: the one place a run
    computes them (the summary and LOO's relative efficiency share it)."""
    posterior = idata.posterior
    return by_variable(posterior, list(posterior.data_vars))


def posterior_summary(
    idata: InferenceData, var_names: list[str], per_var: dict[str, Diagnostics] | None = None
) -> pd.DataFrame:
    """`arviz.summary(idata, var_names, hdi_prob=HDI_PROB, round_to="none")`, the same table
    bit for bit; R-hat, ESS and MCSE batched over elements (analysis/convergence.py)."""
    from arviz.labels import BaseLabeller
    from arviz.sel_utils import xarray_sel_iter

    dataset = idata.posterior[var_names]
    if per_var is None or any(name not in per_var for name in var_names):
        per_var = by_variable(dataset, var_names)
    stats = joined(per_var, var_names)
    values = elements(dataset, var_names)
    lower, upper = hdi(values.reshape(len(values), -1).T, HDI_PROB)
    mean = dataset.mean(dim=("chain", "draw"), skipna=False)
    sd = dataset.std(dim=("chain", "draw"), ddof=1, skipna=False)
    labeller = BaseLabeller()
    labels = [
        labeller.make_label_flat(name, sel, isel)
        for name in var_names
        for _, sel, isel in xarray_sel_iter(mean, var_names=[name])
    ]
    alpha = 1 - HDI_PROB
    flat = {  # arviz.summary's columns, named as it names them
        "mean": np.concatenate([mean[n].values.ravel() for n in var_names] or [np.zeros(0)]),
        "sd": np.concatenate([sd[n].values.ravel() for n in var_names] or [np.zeros(0)]),
        f"hdi_{100 * alpha / 2:g}%": lower,
        f"hdi_{100 * (1 - alpha / 2):g}%": upper,
        **{name: getattr(stats, name) for name in DIAGNOSTIC_COLUMNS},
    }
    return pd.DataFrame(flat, index=labels)


def rounded_for_report(summary: pd.DataFrame) -> pd.DataFrame:
    """posterior_summary.json rounding, as arviz.summary's default: ESS 0, R-hat 2, rest 3."""
    decimals = {c: {"ess_bulk": 0, "ess_tail": 0, "r_hat": 2}.get(c, 3) for c in summary.columns}
    return summary.round(decimals)


def diagnose(idata: Any, summary: pd.DataFrame) -> dict[str, Any]:
    """Max R-hat, min bulk/tail ESS, divergences, E-BFMI per chain, and a converged verdict.

    `summary` is posterior_summary()'s table, so R-hat and ESS are not computed twice.
    """
    rhat = summary["r_hat"].dropna()  # all NaN with one chain
    max_rhat = float(rhat.max()) if len(rhat) else float("nan")
    min_bulk = float(np.nanmin(summary["ess_bulk"]))
    min_tail = float(np.nanmin(summary["ess_tail"]))
    divergences = int(idata.sample_stats["diverging"].values.sum())
    bfmi = [float(b) for b in chain_bfmi(idata.sample_stats["energy"].transpose("chain", "draw"))]
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
