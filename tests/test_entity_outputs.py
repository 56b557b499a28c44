"""model.level=entity outputs: the one channel-major pass over the panel is the structure's own
decomposition, mean and response pieces (analysis/entity_pass.py), so every brand and entity
artifact is what `predict_entities` and `mu` give."""

from __future__ import annotations

import numpy as np
import pytest

from mmm_runner.analysis.entity import entity_tables
from mmm_runner.analysis.entity_pass import panel_pass
from mmm_runner.analysis.predictions import predict_run
from mmm_runner.model import structure_for
from mmm_runner.model.entity import brand_total
from mmm_runner.model.parameters import Draws
from tests.test_entity import VARIANTS, configs, panel

CASES = ["learned", "controls_by_entity", "additive", "population", "additive_population"]


def prior_draws(structure, model_cfg, features, n: int = 12) -> Draws:
    draws = Draws(structure.prior_draws(model_cfg, features, n, seed=3), n)
    draws.values.update(structure.derived_draws(draws.values, model_cfg))
    return draws


@pytest.mark.parametrize("variant", CASES)
def test_panel_pass_is_the_structures_decomposition(variant: str) -> None:
    name, overrides, population = VARIANTS[variant]
    model_cfg, features_cfg = configs(name, overrides)
    structure = structure_for(model_cfg, features_cfg)
    features, _ = panel(population)
    draws = prior_draws(structure, model_cfg, features)
    result = panel_pass(structure, draws, features)
    parts = structure.predict_entities(draws, features)
    brand = brand_total(parts)
    for ours, theirs in (
        (result.mu, structure.mu(draws, features)),
        (result.brand.fitted, brand.fitted),
        (result.brand.baseline, brand.baseline),
        (result.brand.contributions, brand.contributions),
        (result.entities.totals, parts.contributions.sum(axis=2)),
        (result.entities.fitted, parts.fitted.mean(axis=0)),
        (result.entities.contributions, parts.contributions.mean(axis=0)),
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-9)
    # the response pieces at 1x: every entity's mu from its base and channel terms
    for e, response in enumerate(result.responses):
        rebuilt = response.base + response.terms(np.ones(len(response.channels))).sum(-1)
        np.testing.assert_allclose(response.current_mu, rebuilt, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rebuilt, result.mu[:, e], rtol=1e-9, atol=1e-9)


def test_run_predictions_serve_the_tables_and_the_fit() -> None:
    model_cfg, features_cfg = configs("learned", {})
    structure = structure_for(model_cfg, features_cfg)
    features, _ = panel(False)
    draws = prior_draws(structure, model_cfg, features)
    predictions = predict_run(structure, draws, features)
    np.testing.assert_allclose(
        structure.brand_level(predictions.mu, features), structure.fitted_level(draws, features)
    )
    roi, table = entity_tables(structure, draws, features, predictions.panel.entities)
    roi_again, table_again = entity_tables(structure, draws, features)
    assert roi.equals(roi_again) and table.equals(table_again)
    channels = features.channel_names
    assert len(roi) == features.panel.n_entities * len(channels)
