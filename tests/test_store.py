"""The run-directory store: its table matches what a run writes, and the reader reads it back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mmm_runner.store import (
    Artifact,
    Format,
    NotARunDirectory,
    RunReadError,
    SweepArtifact,
    load_run,
    write,
)
from mmm_runner.store.artifacts import sha256_file
from mmm_runner.store.layout import ENTITY_ONLY
from mmm_runner.store.manifest import UNLISTED
from mmm_runner.store.reader import RUN_SPEC_EXTRAS
from mmm_runner.sweep.leaderboard import leaderboard_row, read_row
from tests.conftest import ROOT, CliRun, run_cli

SMALL = ("sampler=fast", "sampler.draws=150", "sampler.tune=150")
# The on-disk names are a contract with users and their scripts: changing one breaks old runs.
NAMES = {
    "STATUS": "status.json", "RUN_SPEC": "run_spec.json", "COMPILED_SQL": "compiled_sql",
    "VALIDATION_SUMMARY": "validation_summary.json", "CANONICAL_DATA": "canonical_data.parquet",
    "COLUMN_INFO": "column_info.json", "ENTITY_DATA": "entity_data.parquet",
    "FEATURES": "features.parquet",
    "FEATURE_METADATA": "feature_metadata.json", "FEATURE_SCALER": "feature_scaler.json",
    "POSTERIOR": "posterior.nc", "POSTERIOR_SUMMARY": "posterior_summary.json",
    "DIAGNOSTICS": "diagnostics.json", "LOO": "loo.json",
    "CONTRIBUTIONS": "contributions.parquet",
    "CONTRIBUTION_SUMMARY": "contribution_summary.json", "ROI": "roi_metrics.json",
    "ENTITY_ROI": "entity_roi_metrics.parquet",
    "ENTITY_CONTRIBUTIONS": "entity_contributions.parquet",
    "FITTED": "fitted.parquet", "FIT_METRICS": "fit_metrics.json",
    "RESPONSE_CURVES": "response_curves.parquet", "REPORT": "report.html",
    "MODEL_METADATA": "model_metadata.json", "MANIFEST": "manifest.json",
    "HYDRA_CONFIG": ".hydra/config.yaml", "HYDRA_SETTINGS": ".hydra/hydra.yaml",
    "HYDRA_OVERRIDES": ".hydra/overrides.yaml",
}  # fmt: skip
SUFFIX = {Format.JSON: ".json", Format.PARQUET: ".parquet", Format.NETCDF: ".nc"}
# Modules that must name artifacts through the store only.
STORE_CLIENTS = (
    "pipeline.py", "compare.py", "console.py", "sweep/leaderboard.py", "sweep/callback.py",
    "review.py",
)  # fmt: skip


def run_files(run_dir: Path) -> set[str]:
    """Every file a run left, run-dir relative (Hydra's job log aside)."""
    files = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    return {f for f in files if not f.endswith(".log")}


def owner(rel: str) -> Artifact | None:
    for artifact in Artifact:
        if rel == artifact.filename or (
            artifact.format is Format.DIR and rel.startswith(artifact.filename + "/")
        ):
            return artifact
    return None


def disk_json(run_dir: Path, artifact: Artifact) -> dict:
    return json.loads(artifact.path(run_dir).read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    run = run_cli(tmp_path_factory.mktemp("store") / "run", *SMALL)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> CliRun:
    tmp = tmp_path_factory.mktemp("failed")
    bad = tmp / "no_sales.csv"
    sample_frame.drop(columns=["sales"]).to_csv(bad, index=False)
    run = run_cli(tmp / "run", *SMALL, f"dataset.path={bad}")
    assert run.returncode != 0
    return run


def test_artifact_names_are_the_documented_ones() -> None:
    assert {a.name: a.filename for a in Artifact} == NAMES
    for artifact in Artifact:
        assert artifact.description and artifact.stage
        if artifact.format in SUFFIX:
            assert artifact.filename.endswith(SUFFIX[artifact.format]), artifact
    assert [a.filename for a in SweepArtifact] == [
        "leaderboard.csv", "leaderboard.md", "leaderboard.parquet", "leaderboard.html"
    ]  # fmt: skip


def test_only_the_store_names_artifacts() -> None:
    names = [a.filename for a in Artifact if a.format is not Format.DIR]
    names += [a.filename for a in SweepArtifact] + ["compiled_sql/"]
    for module in STORE_CLIENTS:
        source = (ROOT / "mmm_runner" / module).read_text()
        assert not [n for n in names if n in source], module


@pytest.mark.slow
def test_table_covers_exactly_what_a_run_writes(finished: CliRun) -> None:
    files = run_files(finished.run_dir)
    assert not [f for f in files if owner(f) is None]  # nothing written outside the table
    # every row but the entity-level ones is written by a real (brand-level) run
    assert {owner(f) for f in files} == set(Artifact) - set(ENTITY_ONLY)


@pytest.mark.slow
def test_manifest_lists_every_artifact_with_its_checksum(finished: CliRun) -> None:
    manifest = load_run(finished.run_dir).manifest
    assert manifest is not None
    listed = {a.path: a.sha256 for a in manifest.artifacts}
    assert set(listed) == run_files(finished.run_dir) - set(UNLISTED)
    for path, digest in listed.items():
        assert sha256_file(finished.run_dir / path) == digest, path


@pytest.mark.slow
def test_reader_loads_a_finished_run(finished: CliRun) -> None:
    run_dir = finished.run_dir
    record = load_run(run_dir)
    assert record.run_dir == run_dir and record.status.finished and not record.status.failed
    assert record.status.raw == disk_json(run_dir, Artifact.STATUS) and record.status.error is None
    assert record.config == yaml.safe_load(Artifact.HYDRA_CONFIG.path(run_dir).read_text())
    assert record.overrides == SMALL
    assert record.run_spec == disk_json(run_dir, Artifact.RUN_SPEC)
    assert record.validation == disk_json(run_dir, Artifact.VALIDATION_SUMMARY)

    diagnostics = disk_json(run_dir, Artifact.DIAGNOSTICS)
    assert record.diagnostics is not None and record.diagnostics.raw == diagnostics
    assert record.converged is diagnostics["converged"]
    assert record.diagnostics.max_rhat == diagnostics["max_rhat"]
    roi = disk_json(run_dir, Artifact.ROI)
    assert record.roi is not None and record.roi.raw == roi
    for name, entry in roi["channels"].items():
        roas = record.roi.channels[name].roas
        assert roas is not None and roas.mean == entry["roas"]["mean"]
        assert roas.hdi_lower == entry["roas"]["hdi_lower"]
        assert roas.hdi_upper == entry["roas"]["hdi_upper"]
    shares = disk_json(run_dir, Artifact.CONTRIBUTION_SUMMARY)
    assert record.contribution_summary is not None and record.contribution_summary.raw == shares
    tv = record.contribution_summary.channels["act_tv"].share_of_fitted
    assert tv.mean == shares["channels"]["act_tv"]["share_of_fitted"]["mean"]
    metrics = disk_json(run_dir, Artifact.FIT_METRICS)
    assert record.fit_metrics is not None and record.fit_metrics.in_sample.rmse == metrics["rmse"]
    assert record.fit_metrics.holdout is None
    loo = disk_json(run_dir, Artifact.LOO)
    assert record.loo is not None and record.loo.elpd_loo == loo["elpd_loo"]
    assert record.loo.loo_i.tolist() == loo["loo_i"]
    manifest = disk_json(run_dir, Artifact.MANIFEST)
    assert record.manifest is not None
    assert record.manifest.input_sha256 == manifest["input"]["sha256"]
    assert record.document(Artifact.MODEL_METADATA) == disk_json(run_dir, Artifact.MODEL_METADATA)

    for frame, artifact in [
        (record.contributions, Artifact.CONTRIBUTIONS),
        (record.fitted, Artifact.FITTED),
        (record.features, Artifact.FEATURES),
        (record.canonical, Artifact.CANONICAL_DATA),
    ]:
        assert frame is not None
        pd.testing.assert_frame_equal(frame, pd.read_parquet(artifact.path(run_dir)))
    assert record.fitted is record.fitted  # read once


@pytest.mark.slow
def test_posterior_loads_on_demand_only(finished: CliRun) -> None:
    """A leaderboard row reads no netCDF and never imports arviz; `.posterior` does."""
    probe = (
        "import sys; from pathlib import Path\n"
        "from mmm_runner.store import load_run\n"
        "from mmm_runner.sweep.leaderboard import leaderboard_row\n"
        f"run_dir = Path({str(finished.run_dir)!r})\n"
        "record = load_run(run_dir); row = leaderboard_row(record, run_dir.parent)\n"
        "assert row.row['elpd_loo'] is not None and record.fitted is not None\n"
        "assert 'arviz' not in sys.modules, 'arviz imported before .posterior'\n"
        "idata = record.posterior\n"
        "assert 'arviz' in sys.modules and idata.posterior.sizes['draw'] == 150\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_failed_run_reads_with_missing_artifacts_as_none(failed: CliRun) -> None:
    record = load_run(failed.run_dir)
    assert record.status.failed and record.status.stage == "ERROR"
    assert record.status.error is not None
    assert record.status.error.type == "DataValidationError"
    assert "sales" in record.status.error.message
    assert record.validation is not None and record.validation["passed"] is False
    assert record.config is not None and record.config["dataset"]["path"].endswith("no_sales.csv")
    for missing in (
        record.diagnostics, record.loo, record.roi, record.contribution_summary,
        record.fit_metrics, record.manifest, record.contributions, record.fitted,
        record.features, record.canonical, record.posterior, record.converged,
    ):  # fmt: skip
        assert missing is None
    row = leaderboard_row(record, failed.run_dir.parent).row
    assert row["status"] == "ERROR" and "sales" in row["error"]


def test_a_directory_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a run")
    with pytest.raises(NotARunDirectory, match=re.escape(f"{tmp_path}: not a run directory")):
        load_run(tmp_path)
    with pytest.raises(NotARunDirectory, match=re.escape("nowhere: not a directory")):
        load_run(tmp_path / "nowhere")
    with pytest.raises(NotARunDirectory, match=re.escape("notes.txt: not a directory")):
        load_run(tmp_path / "notes.txt")


@pytest.mark.slow
def test_config_falls_back_to_run_spec_and_corrupt_files_name_themselves(
    finished: CliRun, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(finished.run_dir, copy)
    shutil.rmtree(copy / ".hydra")
    record = load_run(copy)
    assert record.overrides == ()
    assert record.config == load_run(finished.run_dir).config
    assert not set(RUN_SPEC_EXTRAS) & set(record.config or {})

    Artifact.DIAGNOSTICS.path(copy).write_text('{"converged": tr')
    with pytest.raises(RunReadError, match=re.escape("diagnostics.json")):
        load_run(copy)
    assert read_row(copy, tmp_path).row["status"] == "UNREADABLE"


def test_write_checks_the_payload_against_the_table(tmp_path: Path) -> None:
    path = write(tmp_path, Artifact.ROI, {"channels": {}})
    assert path == tmp_path / "roi_metrics.json" and json.loads(path.read_text())
    with pytest.raises(TypeError, match=re.escape("roi_metrics.json")):
        write(tmp_path, Artifact.ROI, pd.DataFrame())
    with pytest.raises(TypeError, match=re.escape("fitted.parquet")):
        write(tmp_path, Artifact.FITTED, {"a": 1})
    with pytest.raises(TypeError, match=re.escape("posterior.nc")):
        write(tmp_path, Artifact.POSTERIOR, {"a": 1})
    with pytest.raises(TypeError, match=re.escape("compiled_sql")):
        write(tmp_path, Artifact.COMPILED_SQL, "SELECT 1")
    assert [p.name for p in tmp_path.iterdir()] == ["roi_metrics.json"]
