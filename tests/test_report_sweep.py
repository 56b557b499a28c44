"""A sweep's leaderboard.html, its `k/N jobs done` lines, and when sampling shows a progress bar."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from mmm_runner.inference.result import show_progress
from mmm_runner.store import Artifact, SweepArtifact
from mmm_runner.sweep.callback import jobs_done, sweep_size
from tests.conftest import ROOT

BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def test_compare_writes_leaderboard_html(sample_run: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        shutil.copytree(sample_run, tmp_path / name)
    proc = subprocess.run(
        [sys.executable, "-m", "mmm_runner.compare", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    html = SweepArtifact.LEADERBOARD_HTML.path(tmp_path).read_text()
    assert SweepArtifact.LEADERBOARD_HTML.filename in proc.stdout
    assert '<section id="ranked">' in html and "<script" not in html
    assert "http://" not in html and "https://" not in html
    for chart in ("chart-elpd", "chart-roas-across"):
        assert f'id="{chart}"' in html and html.count("<svg") == 2, chart
    assert "ELPD-LOO per configuration" in html and "ROAS per channel across" in html
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 2 and ">a<" in body and ">b<" in body


def test_sweep_size_is_the_product_of_the_sweep_lists() -> None:
    def config(*task: str, sweeper: str = BASIC) -> object:
        hydra = {"sweeper": {"_target_": sweeper, "params": None}, "overrides": {"task": task}}
        return OmegaConf.create({"hydra": hydra})

    assert sweep_size(config("a=1,2", "b=x,y,z", "c=3")) == 6
    assert sweep_size(config("sampler=fast")) == 1
    assert sweep_size(config("a=1,2", sweeper="hydra_plugins.optuna.OptunaSweeper")) is None


def test_jobs_done_counts_finished_and_failed_runs(tmp_path: Path) -> None:
    for name, stage in (("0_a", "OUTPUTS_READY"), ("1_a", "ERROR"), ("2_a", "TRAINING")):
        (tmp_path / name).mkdir()
        Artifact.STATUS.path(tmp_path / name).write_text(json.dumps({"stage": stage}))
    assert jobs_done(tmp_path) == 2


@pytest.mark.parametrize(
    ("tty", "env", "shown"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"CI": "true"}, False),
        (True, {"CI": "false"}, True),
        (False, {"MMM_RUNNER_PROGRESS": "1"}, True),
        (True, {"MMM_RUNNER_PROGRESS": "0"}, False),
    ],
)
def test_progress_bar_only_at_an_interactive_terminal(
    tty: bool, env: dict, shown: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    for name in ("CI", "MMM_RUNNER_PROGRESS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stderr", Stream())
    assert show_progress() is shown


@pytest.mark.slow
def test_multirun_prints_progress_and_writes_leaderboard_html(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmm_runner",
            "-m",
            f"hydra.sweep.dir={sweep}",
            "sampler=fast",
            "sampler.draws=100",
            "sampler.tune=100",
            "sampler.chains=2",
            "features.trend.enabled=true,false",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.findall(r"^(\d+/\d+) jobs done$", proc.stdout, re.M) == ["1/2", "2/2"]
    assert "progress" not in proc.stderr.lower()  # no bar when stderr is not a terminal
    assert SweepArtifact.LEADERBOARD_HTML.path(sweep).is_file()
    for job in ("0_sample", "1_sample"):
        assert Artifact.REPORT.path(sweep / job).is_file(), job
