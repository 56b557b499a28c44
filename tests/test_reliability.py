"""Killed runs, concurrent runs, launchers and row order: nothing lost, nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmm_runner.store.run_lock import RunDirectoryInUse, run_lock
from mmm_runner.store.status import STAGES
from mmm_runner.sweep.leaderboard import LeaderboardRow, rank
from tests.conftest import ROOT, SAMPLE_CSV, run_cli

SMALL = ("sampler=fast", "sampler.draws=150", "sampler.tune=150")


def cli(*args: str, cwd: Path = ROOT) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mmm_runner", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip


def assert_no_partial_files(run_dir: Path) -> None:
    """Every artifact present parses completely; no temp file is left behind."""
    assert not list(run_dir.rglob("*.tmp"))
    for path in run_dir.rglob("*.json"):
        json.loads(path.read_text())
    for path in run_dir.rglob("*.parquet"):
        pd.read_parquet(path)


@pytest.mark.slow
def test_sigkill_during_training_leaves_no_truncated_file_and_rerun_works(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    # PyMC's sampler: nutpie would finish training before the kill lands.
    proc = cli(f"hydra.run.dir={run_dir}", "sampler=default", "sampler.backend=pymc")
    deadline = time.monotonic() + 180
    stage = None
    while time.monotonic() < deadline and stage != "TRAINING":
        time.sleep(0.1)
        try:
            stage = json.loads((run_dir / "status.json").read_text())["stage"]
        except (OSError, ValueError, KeyError):
            continue
    assert stage == "TRAINING", proc.communicate()[1][-2000:]
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    assert_no_partial_files(run_dir)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["stage"] == "TRAINING"  # the last stage reached
    assert (run_dir / "features.parquet").is_file()
    assert not (run_dir / "posterior.nc").exists()

    rerun = run_cli(run_dir, *SMALL)  # same directory: the stale lock of the dead run is taken
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert rerun.status["stage"] == "OUTPUTS_READY"
    assert list(rerun.status["stages"]) == list(STAGES)  # a fresh history, not the killed one
    assert_no_partial_files(run_dir)
    assert not (run_dir / ".run.lock").exists()


@pytest.mark.slow
def test_two_runs_started_together_get_two_complete_directories(tmp_path: Path) -> None:
    procs = [cli(*SMALL, cwd=tmp_path) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
    run_dirs = sorted(p for p in (tmp_path / "runs").glob("*/*") if p.is_dir())
    assert len(run_dirs) == 2
    pids = set()
    for run_dir in run_dirs:
        assert json.loads((run_dir / "status.json").read_text())["stage"] == "OUTPUTS_READY"
        pids.add(json.loads((run_dir / "run_spec.json").read_text())["runtime"]["pid"])
        assert_no_partial_files(run_dir)
    assert len(pids) == 2


def test_a_live_run_directory_refuses_a_second_run(tmp_path: Path) -> None:
    with run_lock(tmp_path):
        child = subprocess.run(
            [sys.executable, "-c",
             "from mmm_runner.store.run_lock import run_lock; import sys\n"
             f"with run_lock(__import__('pathlib').Path({str(tmp_path)!r})): pass"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert child.returncode != 0
        assert "in use by running process" in child.stderr
    (tmp_path / ".run.lock").write_text("999999")  # stale: no such process
    with run_lock(tmp_path):
        assert (tmp_path / ".run.lock").read_text() == str(os.getpid())
    with pytest.raises(RunDirectoryInUse), run_lock(tmp_path):
        (tmp_path / ".run.lock").write_text(str(os.getppid()))  # a live process owns it
        with run_lock(tmp_path):
            pass


@pytest.mark.slow
def test_same_numbers_across_launchers_and_row_order(tmp_path: Path) -> None:
    shuffled = tmp_path / "shuffled.csv"
    pd.read_csv(SAMPLE_CSV, dtype=str).sample(frac=1.0, random_state=7).to_csv(
        shuffled, index=False
    )
    basic = run_cli(tmp_path / "basic", *SMALL)
    assert basic.returncode == 0, basic.stderr[-2000:]
    reordered = run_cli(tmp_path / "shuffled", *SMALL, f"dataset.path={shuffled}")
    assert reordered.returncode == 0, reordered.stderr[-2000:]
    expected = (tmp_path / "basic" / "roi_metrics.json").read_text()
    assert (tmp_path / "shuffled" / "roi_metrics.json").read_text() == expected

    # a multirun's default launcher: parallel processes; two jobs share the cores
    sweep = tmp_path / "joblib"
    proc = cli("-m", f"hydra.sweep.dir={sweep}", *SMALL, "dataset.holdout_periods=0,1")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    job = sweep / "0_sample"  # holdout_periods=0: the basic run's config
    cores = json.loads((job / "run_spec.json").read_text())["sampler"]["cores"]
    cpus = os.cpu_count() or 1
    assert cores == (cpus // 2 if cpus > 1 else None)  # one job per core, at most two
    assert (job / "roi_metrics.json").read_text() == expected


@pytest.mark.slow
def test_non_convergence_is_loud(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "run", "sampler=fast", "sampler.draws=30", "sampler.tune=30")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.json("diagnostics.json")["converged"] is False
    assert run.json("diagnostics.json")["advice"]
    assert run.json("roi_metrics.json")["converged"] is False
    assert run.json("contribution_summary.json")["converged"] is False
    assert "NOT CONVERGED" in run.stdout and "advice: Low ESS" in run.stdout


def test_leaderboard_sinks_unreliable_runs_and_only_flags_a_mild_rhat() -> None:
    pointwise = np.zeros(10)

    def row(run: str, reliability: str, elpd: float) -> LeaderboardRow:
        cells = {"run": run, "reliability": reliability, "elpd_loo": elpd}
        return LeaderboardRow(cells, pointwise, ("d", 10))

    records = [
        row("diverged", "unreliable", 50.0),
        row("solid", "ok", 10.0),
        row("rhat_1.02", "flagged", 30.0),
        LeaderboardRow({"run": "broken", "status": "ERROR", "error": "boom"}),
    ]
    table = rank(records)
    assert list(table["run"]) == ["rhat_1.02", "solid", "diverged", "broken"]
    assert list(table["rank"][:3]) == [1, 2, 3] and pd.isna(table["rank"][3])


@pytest.mark.parametrize(
    ("converged", "max_rhat", "divergences", "reasons", "expected"),
    [
        (True, 1.004, 0, [], "ok"),
        (False, 1.03, 0, ["max R-hat 1.0300 >= 1.01"], "flagged"),
        (False, 1.03, 2, ["max R-hat 1.0300 >= 1.01"], "unreliable"),
        (False, 1.07, 0, ["max R-hat 1.0700 >= 1.01"], "unreliable"),
        (False, 1.02, 0, ["max R-hat 1.0200 >= 1.01", "min ESS (bulk 90, tail 80) <= 400"],
         "unreliable"),
    ],
)  # fmt: skip
def test_reliability_of_a_run(converged, max_rhat, divergences, reasons, expected) -> None:
    from mmm_runner.store.records import Diagnostics
    from mmm_runner.sweep.leaderboard import reliability

    doc = {"converged": converged, "max_rhat": max_rhat, "min_ess_bulk": 500.0,
           "min_ess_tail": 500.0, "divergences": divergences, "reasons": reasons}  # fmt: skip
    assert reliability(Diagnostics.parse(doc)) == expected
