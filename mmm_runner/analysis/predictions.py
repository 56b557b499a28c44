"""What a run's outputs take from the structure per draw, computed once per run.

Contributions, the fit (mean and predictive interval), the entity tables and the response pieces
each evaluated the structure's equations themselves: a brand run computed `mean` five times, an
entity run four passes over its panel (seconds each). `predict_run` evaluates once (twice with a
holdout, which the fit covers and the decomposition does not) and hands each output its part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.analysis.entity_pass import PanelPass, panel_pass
from mmm_runner.analysis.response import MediaResponse, media_response
from mmm_runner.config.schema import FeaturesConfig
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.decomposition import Decomposition
from mmm_runner.model.parameters import Draws
from mmm_runner.model.structure import Evaluation, ModelStructure


@dataclass(frozen=True)
class RunPredictions:
    parts: Decomposition  # per draw, training window: fitted, baseline, contributions (brand)
    mu: np.ndarray  # (S, [E,] T) the mean on the model scale over every period (the fit)
    evaluation: Evaluation | None = None  # brand level: the training window's, for the response
    panel: PanelPass | None = None  # entity level: per-entity parts and response pieces

    def response(
        self,
        structure: ModelStructure,
        draws: Draws,
        training: FeatureSet,
        features_cfg: FeaturesConfig,
    ) -> MediaResponse | Any:
        """The response pieces over the training window (entity level: `PanelResponse`)."""
        if self.panel is not None:
            from mmm_runner.analysis.entity import PanelResponse

            return PanelResponse(self.panel.responses)
        return media_response(structure, draws, training, features_cfg, self.evaluation)


def predict_run(structure: ModelStructure, draws: Draws, features: FeatureSet) -> RunPredictions:
    """One evaluation of the structure per draw for a run's outputs (`features`: every period)."""
    if features.panel is not None:
        result = panel_pass(structure, draws, features)  # type: ignore[arg-type]
        assert result.brand is not None
        return RunPredictions(result.brand, result.mu, panel=result)
    training = features.training
    evaluation = structure.evaluate(draws, training)
    parts = structure.predict(draws, training, evaluation)
    # the training window is every period unless there is a holdout: the fit then needs its own
    whole = features.n_fit >= len(features.target)
    mu = evaluation.mu if whole else structure.mu(draws, features)
    return RunPredictions(parts, mu, evaluation)
