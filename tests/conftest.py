"""Shared test helpers: the sample data, temp CSV variants, and running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

from mmm_runner.inference.caches import configure_caches

# Before anything imports numba: the same source-keyed compile caches as a run uses.
configure_caches()

# CI replays a fixed set of examples (a red CI must mean a regression, not a new random draw);
# local runs keep exploring, and `HYPOTHESIS_PROFILE=deep` explores much further.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CSV = ROOT / "sample_data" / "mmm_sample_small.csv"
SAMPLE_TRUTH = ROOT / "sample_data" / "mmm_sample_small_truth.json"
SHARED_DATA = ROOT / "sample_data"  # the public datasets, bundled with their licences
LATER_ARTIFACTS = (
    "canonical_data.parquet",
    "column_info.json",
    "features.parquet",
    "posterior.nc",
    "roi_metrics.json",
    "manifest.json",
)


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    run_dir: Path

    def json(self, name: str) -> dict:
        return json.loads((self.run_dir / name).read_text())

    @property
    def status(self) -> dict:
        return self.json("status.json")


def run_cli(run_dir: Path, *overrides: str, timeout: int = 600) -> CliRun:
    """`python -m mmm_runner <overrides>` with the run directory pinned to `run_dir`."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "mmm_runner", f"hydra.run.dir={run_dir}", *overrides],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, run_dir)


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def truth() -> dict:
    return json.loads(SAMPLE_TRUTH.read_text())


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished `model=default` run on the sample with small draws, shared by the tests of
    everything that reads a run (response curves, optimizer, report, review, API). Read-only:
    a test that writes into a run directory copies it first."""
    run_dir = tmp_path_factory.mktemp("sample_run") / "run"
    run = run_cli(
        run_dir, "sampler=fast", "sampler.draws=200", "sampler.tune=300", "sampler.chains=2"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run_dir
