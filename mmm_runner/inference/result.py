"""What a backend returns, and the NUTS settings every backend shares."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmm_runner.config.schema import SamplerConfig
from mmm_runner.errors import ConfigError

if TYPE_CHECKING:  # arviz is imported only where a posterior is handled
    from arviz import InferenceData


@dataclass
class FitResult:
    idata: InferenceData
    sampling_seconds: float
    backend: str
    details: dict[str, Any] = field(default_factory=dict)


def require(module: str, extra: str, backend: str) -> None:
    """Fail with the install command when an optional backend's package is absent."""
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"sampler.backend={backend} needs the '{module}' package: "
            f'pip install -e ".[{extra}]" (or choose sampler.backend=pymc)'
        )


def nuts_settings(sampler_cfg: SamplerConfig) -> dict[str, Any]:
    """draws, tune, chains, cores and target_accept, as both nutpie and PyMC name them."""
    chains = int(sampler_cfg.chains)
    return {
        "draws": int(sampler_cfg.draws),
        "tune": int(sampler_cfg.tune),
        "chains": chains,
        "cores": int(sampler_cfg.cores or min(chains, os.cpu_count() or 1)),
        "target_accept": float(sampler_cfg.target_accept),
    }


def show_progress() -> bool:
    """A sampling progress bar only for a person at a terminal: never in logs, pipes or CI.

    `CI` is set by GitHub Actions, GitLab and most CI services; `MMM_RUNNER_PROGRESS=0|1`
    forces it off or on.
    """
    forced = os.environ.get("MMM_RUNNER_PROGRESS", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False
