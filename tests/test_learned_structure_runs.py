"""model=default (learned) and model=additive end to end: identities, warnings, overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from mmm_runner.config.schema import FeaturesConfig, ModelConfig
from mmm_runner.model import structure_for
from mmm_runner.model.parameters import Draws
from mmm_runner.synthetic import CaseSpec, simulate_case
from tests.conftest import run_cli
from tests.test_backends import features  # noqa: F401  (module fixture: the sample's features)


@pytest.mark.parametrize("structure", ["learned", "additive"])
def test_baseline_plus_channels_equals_fitted_per_draw(features, structure) -> None:  # noqa: F811
    model_cfg = OmegaConf.structured(ModelConfig(structure=structure))
    st = structure_for(model_cfg, OmegaConf.structured(FeaturesConfig))
    draws = Draws(st.prior_draws(model_cfg, features, 50, seed=4), 50)
    parts = st.predict(draws, features)
    np.testing.assert_allclose(
        parts.baseline + parts.contributions.sum(-1), parts.fitted, rtol=1e-12, atol=1e-6
    )
    assert (parts.contributions >= 0).all()
    if structure == "additive":  # a channel's contribution is its own term times s
        data = st.model_data(features)
        terms = st.channel_terms(draws.values, data, np)
        np.testing.assert_allclose(parts.contributions, terms * features.target_mean, rtol=1e-12)


def test_readme_per_channel_override_works_as_written(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "r", "features.adstock.per_channel.act_tv=0.7", "--cfg", "job")
    assert run.returncode == 0, run.stderr
    assert "act_tv: 0.7" in run.stdout
    typo = run_cli(tmp_path / "t", "features.adstock.per_channel.act_tvv=0.7", "sampler=fast")
    assert typo.returncode == 1
    assert "features.adstock.per_channel" in typo.stderr and "act_tvv" in typo.stderr


@pytest.mark.slow
def test_a_flat_channel_warns_that_its_carryover_is_the_prior(tmp_path: Path) -> None:
    panel, _ = simulate_case(CaseSpec("learned", 3, "WEEK", 2, seed=31))
    # always on, its small week-to-week changes unrelated to sales: nothing identifies its decay
    wobble = np.random.default_rng(0).normal(0.0, 0.1, len(panel))
    panel["act_ch3"] = 1000.0 * (1.0 + wobble)
    panel["spend_ch3"] = 50.0 * (1.0 + wobble)
    csv = tmp_path / "constant.csv"
    panel.to_csv(csv, index=False)
    run = run_cli(
        tmp_path / "run", f"dataset.path={csv}", "dataset.name=constant", "dataset.drivers=[]",
        "dataset.controls=[]", "sampler=fast", "sampler.draws=300", "sampler.tune=300",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    learned = run.json("diagnostics.json")["prior_posterior"]
    decay = learned["channels"]["act_ch3"]["decay"]
    assert decay["contraction"] < learned["weak_below"]
    assert any(w.startswith("act_ch3: the data barely inform its carryover") for w in
               learned["warnings"])  # fmt: skip
    assert learned["channels"]["act_ch1"]["decay"]["contraction"] > 0.5  # a real channel learns
    assert "prior only: act_ch3: the data barely inform its carryover" in run.stdout


@pytest.mark.slow
def test_default_run_on_the_sample_covers_every_true_roas(tmp_path: Path, truth: dict) -> None:
    """`python -m mmm_runner`, nothing configured: the learned model finds the truth."""
    run = run_cli(tmp_path / "run")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.json("diagnostics.json")["converged"] is True
    assert run.json("model_metadata.json")["structure"] == "learned"
    channels = run.json("roi_metrics.json")["channels"]
    for channel, true_roas in truth["roas"].items():
        roas = channels[channel]["roas"]
        assert roas["hdi_lower"] <= true_roas <= roas["hdi_upper"], (channel, roas, true_roas)
