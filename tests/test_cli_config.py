"""Config is the interface: typos fail before any work; the composed config is printable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, run_cli


def test_unknown_key_fails_before_any_work(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "run", "sampler.drawz=5")
    assert run.returncode != 0
    assert "drawz" in run.stderr
    assert not (tmp_path / "run").exists()


def test_wrong_type_fails_naming_the_key(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "run", "sampler.draws=many")
    assert run.returncode != 0
    assert "draws" in run.stderr and "many" in run.stderr


def test_out_of_range_value_fails_with_error_status(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "run", "sampler.target_accept=1.5")
    assert run.returncode == 1
    assert "error: sampler.target_accept: must be in (0, 1)" in run.stderr
    assert run.status["stage"] == "ERROR"


def test_entity_draws_must_be_positive_or_null(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "run", "sampler.entity_draws=0")
    assert run.returncode == 1
    assert "error: sampler.entity_draws: must be >= 1 or null" in run.stderr


def test_cfg_job_prints_composed_config() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mmm_runner", "--cfg", "job", "sampler=fast"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "draws: 500" in proc.stdout
    assert "path: sample_data/mmm_sample_small.csv" in proc.stdout
    assert "beta_parametrization: centered" in proc.stdout
