"""Prior against posterior, per channel: did the data inform each learned parameter?

Contraction = 1 - posterior variance / prior variance (1: the data decided it; 0: the
posterior is the prior). A learned carryover or saturation with little contraction is a guess,
not a finding, and the run says so (diagnostics.json `prior_posterior`, and the console).
"""

from __future__ import annotations

from typing import Any

from mmm_runner.config.schema import ModelConfig
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.parameters import Draws
from mmm_runner.model.structure import ModelStructure

WEAK_CONTRACTION = 0.2  # below this, the posterior is mostly the prior
PRIOR_DRAWS = 4000
# Per-channel parameters reported, with what a user calls them.
REPORTED = {
    "decay": "carryover (decay)",
    "half_saturation": "half-saturation point",
    "slope": "Hill slope",
    "beta": "media effect",
}


def prior_posterior(
    structure: ModelStructure, model_cfg: ModelConfig, draws: Draws, features: FeatureSet
) -> dict[str, Any]:
    """Per channel and learned parameter: prior and posterior mean/sd and the contraction."""
    prior = structure.prior_draws(model_cfg, features, PRIOR_DRAWS)
    channels: dict[str, dict[str, Any]] = {c: {} for c in features.channel_names}
    warnings: list[str] = []
    for name, label in REPORTED.items():
        if name not in prior or name not in draws.values:
            continue
        for i, channel in enumerate(features.channel_names):
            before, after = prior[name][:, i], draws[name][:, i]
            prior_var = float(before.var())
            contraction = 1.0 - float(after.var()) / prior_var if prior_var > 0 else None
            channels[channel][name] = {
                "prior_mean": float(before.mean()),
                "prior_sd": float(before.std()),
                "posterior_mean": float(after.mean()),
                "posterior_sd": float(after.std()),
                "contraction": contraction,
            }
            if name != "beta" and contraction is not None and contraction < WEAK_CONTRACTION:
                warnings.append(
                    f"{channel}: the data barely inform its {label} (posterior sd "
                    f"{after.std():.3g} vs prior sd {before.std():.3g}, contraction "
                    f"{contraction:.2f}); the reported value is mostly the prior"
                )
    return {
        "method": "contraction = 1 - posterior variance / prior variance (prior by simulation)",
        "weak_below": WEAK_CONTRACTION,
        "channels": channels,
        "warnings": warnings,
    }
