"""The one JSON line each reference script prints for bench.py: ESS, R-hat, sampling time."""

from __future__ import annotations

import json
from typing import Any

import arviz as az


def print_fit_summary(
    idata: Any,
    sampling_seconds: float,
    var_names: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """min bulk/tail ESS and max R-hat over `var_names` (default: every posterior variable),
    and any `extra` fields."""
    summary = az.summary(idata, var_names=var_names)
    print(
        json.dumps(
            {
                "min_ess_bulk": float(summary["ess_bulk"].min()),
                "min_ess_tail": float(summary["ess_tail"].min()),
                "max_rhat": float(summary["r_hat"].max()),
                "sampling_seconds": sampling_seconds,
                "draws": int(idata.posterior.sizes["draw"]),
                "chains": int(idata.posterior.sizes["chain"]),
                **(extra or {}),
            }
        )
    )
