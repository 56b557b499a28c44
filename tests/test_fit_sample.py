"""End to end on the sample with model=fixed told the true feature settings (correctly
specified): artifacts, truth recovery, decomposition identity, and determinism (CLI run vs. an
in-process run of the same config). The default, learned model: test_learned_structure_runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from mmm_runner.store.artifacts import sha256_file
from tests.conftest import ROOT, CliRun, run_cli

pytestmark = pytest.mark.slow
OVERRIDES = ("sampler=default", "features=sample_truth", "model=fixed")
SPEC_ARTIFACTS = (
    "run_spec.json", "status.json", "validation_summary.json", "canonical_data.parquet",
    "column_info.json", "features.parquet", "feature_metadata.json", "feature_scaler.json",
    "posterior.nc", "posterior_summary.json", "model_metadata.json", "diagnostics.json",
    "contributions.parquet", "contribution_summary.json", "roi_metrics.json", "fitted.parquet",
    "fit_metrics.json", "manifest.json", ".hydra/config.yaml",
)  # fmt: skip


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    run = run_cli(tmp_path_factory.mktemp("fit") / "run", *OVERRIDES)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_every_artifact_and_status(cli_run: CliRun) -> None:
    for name in SPEC_ARTIFACTS:
        assert (cli_run.run_dir / name).is_file(), name
    assert list((cli_run.run_dir / "compiled_sql").glob("*_screen.sql"))
    status = cli_run.status
    assert status["stage"] == "OUTPUTS_READY" and status["progress"] == 1.0
    assert list(status["stages"]) == [
        "CREATED", "VALIDATED", "FEATURES_BUILT", "TRAINING", "TRAINED", "OUTPUTS_READY"
    ]  # fmt: skip
    assert "ROAS mean" in cli_run.stdout and "converged" in cli_run.stdout


def test_converged(cli_run: CliRun) -> None:
    diagnostics = cli_run.json("diagnostics.json")
    assert diagnostics["converged"] is True, diagnostics["reasons"]
    assert diagnostics["max_rhat"] < 1.01
    assert min(diagnostics["min_ess_bulk"], diagnostics["min_ess_tail"]) > 400


def test_true_roas_inside_hdi_and_shares_within_5pp(cli_run: CliRun, truth: dict) -> None:
    roi = cli_run.json("roi_metrics.json")
    shares = cli_run.json("contribution_summary.json")["channels"]
    for channel, true_roas in truth["roas"].items():
        roas = roi["channels"][channel]["roas"]
        assert roas["hdi_lower"] <= true_roas <= roas["hdi_upper"], (channel, true_roas, roas)
        share = shares[channel]["share_of_fitted"]["mean"]
        assert abs(share - truth["share_of_fitted"][channel]) < 0.05, (channel, share)


def test_baseline_plus_channels_equals_fitted(cli_run: CliRun) -> None:
    table = pd.read_parquet(cli_run.run_dir / "contributions.parquet")
    channels = ["act_tv", "act_digital", "act_radio"]
    total = table["baseline"] + table[channels].sum(axis=1)
    np.testing.assert_allclose(total, table["fitted"], rtol=1e-6, atol=1e-6)
    assert (table[channels] >= 0).all().all()


def test_fit_metrics_match_fitted_table(cli_run: CliRun) -> None:
    fitted = pd.read_parquet(cli_run.run_dir / "fitted.parquet")
    metrics = cli_run.json("fit_metrics.json")
    residual = fitted["actual"] - fitted["predicted_mean"]
    assert metrics["rmse"] == pytest.approx(float(np.sqrt((residual**2).mean())))
    assert metrics["mape"] == pytest.approx(float((residual.abs() / fitted["actual"]).mean()))
    assert metrics["r2"] > 0.9


def test_manifest_checksums_match_files(cli_run: CliRun) -> None:
    manifest = cli_run.json("manifest.json")
    listed = {a["path"]: a["sha256"] for a in manifest["artifacts"]}
    expected = {"roi_metrics.json", "posterior.nc", "compiled_sql/01_source_rows_csv.sql"}
    assert expected <= set(listed)
    for path, digest in listed.items():
        assert sha256_file(cli_run.run_dir / path) == digest, path
    assert manifest["input"]["sha256"] == sha256_file(ROOT / "sample_data/mmm_sample_small.csv")
    assert manifest["packages"]["pymc"] and len(manifest["config_hash"]) == 64


def test_posterior_has_log_likelihood(cli_run: CliRun) -> None:
    import arviz as az

    idata = az.from_netcdf(cli_run.run_dir / "posterior.nc")
    assert "log_likelihood" in idata.groups()
    assert idata.posterior.sizes["draw"] == 1000 and idata.posterior.sizes["chain"] == 4


def test_same_config_and_seed_give_identical_roi(cli_run: CliRun, tmp_path: Path) -> None:
    """A second run (in-process, composed with Hydra's compose API) gives the same bytes."""
    from mmm_runner.pipeline import run_pipeline

    GlobalHydra.instance().clear()
    import mmm_runner.__main__  # noqa: F401  (registers the schema with ConfigStore)

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(OVERRIDES))
    GlobalHydra.instance().clear()
    result = run_pipeline(cfg, tmp_path / "again", echo=lambda _: None)
    assert result.stage == "OUTPUTS_READY"
    first = (cli_run.run_dir / "roi_metrics.json").read_text()
    second = (tmp_path / "again" / "roi_metrics.json").read_text()
    assert first == second
    assert json.loads(first)["converged"] is True


def test_rerun_cleanup_knows_every_artifact(cli_run: CliRun) -> None:
    """A rerun clears WRITTEN_BY_RUN only: every file a run writes must be listed there."""
    from mmm_runner.store.layout import WRITTEN_BY_RUN

    cleared = {a.filename for a in WRITTEN_BY_RUN}
    written = {p.name for p in cli_run.run_dir.iterdir()} - {".hydra"}
    written = {n for n in written if not n.endswith(".log")}
    assert written <= cleared, written - cleared
    assert "loo.json" in written
