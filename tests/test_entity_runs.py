"""model.level=entity end to end: the geo sample through the CLI, and a small recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmm_runner.store import Artifact, load_run, read
from tests.conftest import run_cli

# Minutes of sampling under load (a 20-geo panel, a 10-entity recovery): outside the CI budget.
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def geo_run(tmp_path_factory: pytest.TempPathFactory):
    run_dir = tmp_path_factory.mktemp("geo") / "run"
    run = run_cli(run_dir, "dataset=meridian_geo", "model.level=entity", "sampler=fast")
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.mark.slow
def test_meridian_geo_runs_end_to_end_at_entity_level(geo_run) -> None:
    run_dir = geo_run.run_dir
    assert geo_run.json(Artifact.MODEL_METADATA.filename)["structure"] == "learned_entity"
    entity_roi = read(run_dir, Artifact.ENTITY_ROI)
    parts = read(run_dir, Artifact.ENTITY_CONTRIBUTIONS)
    brand = read(run_dir, Artifact.CONTRIBUTIONS)
    assert entity_roi["entity_id"].nunique() == 20 and entity_roi["channel"].nunique() == 4
    # the brand table is the sum over entities of the entity table (posterior means)
    summed = parts.groupby("period_start")[["actual", "fitted", "baseline"]].sum()
    np.testing.assert_allclose(summed["fitted"].to_numpy(), brand["fitted"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(summed["actual"].to_numpy(), brand["actual"].to_numpy(), rtol=1e-9)
    roi = geo_run.json(Artifact.ROI.filename)
    for channel, entry in roi["channels"].items():
        rows = entity_roi[entity_roi["channel"] == channel]
        total = rows["contribution_mean"].sum()
        assert total == pytest.approx(entry["contribution_total"], rel=1e-9)
        assert "mroas" in entry  # response curves on the brand total
    curves = read(run_dir, Artifact.RESPONSE_CURVES)
    assert isinstance(curves, pd.DataFrame) and not curves.empty
    assert Artifact.ENTITY_ROI.filename in (run_dir / Artifact.REPORT.filename).read_text()
    assert load_run(run_dir).status.stage == "OUTPUTS_READY"


@pytest.mark.slow
def test_meridian_geo_converges_at_entity_level(geo_run) -> None:
    diagnostics = geo_run.json(Artifact.DIAGNOSTICS.filename)
    assert diagnostics["converged"], diagnostics["reasons"]
    # the geos barely measure their own effects: `auto` chose non-centred for each (and diag)
    metadata = geo_run.json(Artifact.MODEL_METADATA.filename)
    chosen = metadata["entity_parametrization"]
    assert set(chosen["centred"]) == {f"act_channel{i}" for i in range(4)}
    assert not any(chosen["centred"].values())
    assert min(chosen["relative_se"].values()) > 0.1
    assert geo_run.json(Artifact.RUN_SPEC.filename)["model"]["entity_centred"] == chosen["centred"]
    assert metadata["backend_details"]["mass_matrix"] == "diag"
    # sampler=fast draws 1,000 per chain at this level (sampler.entity_draws), 500 at brand level
    assert geo_run.json(Artifact.RUN_SPEC.filename)["sampler"]["draws"] == 1000


@pytest.mark.slow
def test_optimizer_reads_an_entity_run(geo_run) -> None:
    from mmm_runner.optimize.loaded import load_fitted

    fitted = load_fitted(geo_run.run_dir)
    n = len(fitted.channels)
    total, grad = fitted.response.total_and_grad(np.ones(n))
    assert total.shape == grad.shape[:1] and np.all(np.isfinite(grad))


@pytest.mark.slow
def test_entity_model_recovers_a_small_simulated_panel(tmp_path) -> None:
    """10 entities, 3 channels, draws kept small: brand and per-entity ROAS in their HDIs."""
    from benchmarks.entity_study import entity_coverage, fit, score
    from mmm_runner.synthetic_entity import EntitySpec, simulate_entities

    spec = EntitySpec(n_entities=10, n_channels=3, tau=0.3, seed=1)
    _, truth = simulate_entities(spec)
    result, _, run_dir = fit(
        spec, "entity", tmp_path, ["sampler.entity_draws=300", "sampler.tune=300"]
    )
    rows = score(result, truth)
    assert sum(r["covered"] for r in rows) >= 2, rows
    assert np.median([r["rel_error"] for r in rows]) < 0.2, rows
    covered, total, _ = entity_coverage(run_dir, truth)
    assert covered / total >= 0.75, (covered, total)
