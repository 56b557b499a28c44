"""Multirun sweeps: leaderboard with ELPD-LOO, holdout metrics, failed jobs, parallel launcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmm_runner.sweep.leaderboard import LEADERBOARD_FILES
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
SMALL = ("sampler=fast", "sampler.draws=200", "sampler.tune=200")


def multirun(sweep_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmm_runner", "-m", f"hydra.sweep.dir={sweep_dir}", *overrides],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sweep_dir = tmp_path_factory.mktemp("grid") / "sweep"
    proc = multirun(
        sweep_dir,
        "sampler=fast",
        "features.adstock.decay_default=0.3,0.6",
        "features.saturation.enabled=true,false",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return sweep_dir


def test_grid_writes_four_runs_and_a_leaderboard(grid: Path) -> None:
    runs = sorted(p for p in grid.iterdir() if (p / "status.json").is_file())
    assert len(runs) == 4
    for run in runs:
        assert json.loads((run / "status.json").read_text())["stage"] == "OUTPUTS_READY"
        assert (run / "roi_metrics.json").is_file() and (run / ".hydra/overrides.yaml").is_file()
    for name in LEADERBOARD_FILES:
        assert (grid / name).is_file(), name
    table = pd.read_parquet(grid / "leaderboard.parquet")
    assert len(table) == 4 and list(table["rank"]) == [1, 2, 3, 4]
    assert table["elpd_loo"].is_monotonic_decreasing or not table["converged"].all()
    assert table.loc[0, "within_2se_of_best"] == True  # noqa: E712 (numpy bool)
    assert {"roas_act_tv", "max_rhat", "divergences", "pareto_k_bad", "mape"} <= set(table)


def test_leaderboard_elpd_matches_arviz_loo(grid: Path) -> None:
    import arviz as az

    table = pd.read_csv(grid / "leaderboard.csv")
    for _, row in table.iterrows():
        loo = az.loo(az.from_netcdf(grid / row["run"] / "posterior.nc"))
        assert row["elpd_loo"] == pytest.approx(float(loo.elpd_loo), rel=1e-9)
        assert row["elpd_loo_se"] == pytest.approx(float(loo.se), rel=1e-9)


def test_compare_rebuilds_the_same_leaderboard(grid: Path, tmp_path: Path) -> None:
    before = pd.read_csv(grid / "leaderboard.csv")
    proc = subprocess.run(
        [sys.executable, "-m", "mmm_runner.compare", str(grid)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    pd.testing.assert_frame_equal(pd.read_csv(grid / "leaderboard.csv"), before)
    assert "| rank | run |" in proc.stdout


def test_holdout_metrics_use_only_the_last_periods(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = multirun(sweep, *SMALL, "dataset.holdout_periods=13")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = next(p for p in sweep.iterdir() if p.is_dir())
    fitted = pd.read_parquet(run / "fitted.parquet")
    assert list(fitted["split"]).count("holdout") == 13
    assert (fitted["split"].iloc[-13:] == "holdout").all()
    last = fitted.iloc[-13:]
    residual = last["actual"] - last["predicted_mean"]
    holdout = json.loads((run / "fit_metrics.json").read_text())["holdout"]
    assert holdout["n_periods"] == 13
    assert holdout["mape"] == pytest.approx(float((residual.abs() / last["actual"]).mean()))
    assert holdout["rmse"] == pytest.approx(float(np.sqrt((residual**2).mean())))
    inside = (last["actual"] >= last["predicted_lower"]) & (
        last["actual"] <= last["predicted_upper"]
    )
    assert holdout["interval_coverage_94"] == pytest.approx(float(inside.mean()))
    import arviz as az

    idata = az.from_netcdf(run / "posterior.nc")
    assert idata.log_likelihood["obs"].shape[-1] == 156 - 13  # the fit never saw the holdout
    board = pd.read_csv(sweep / "leaderboard.csv")
    assert board.loc[0, "holdout_mape"] == pytest.approx(holdout["mape"])


def test_failing_job_is_listed_and_the_sweep_finishes(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = multirun(sweep, *SMALL, "dataset.path=sample_data/mmm_sample_small.csv,no_such.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_csv(sweep / "leaderboard.csv")
    assert len(table) == 2
    ok = table[table["status"] == "OUTPUTS_READY"]
    failed = table[table["status"] == "ERROR"]
    assert len(ok) == 1 and ok["rank"].iloc[0] == 1
    assert len(failed) == 1 and np.isnan(failed["rank"].iloc[0])
    assert "no_such.csv: input file not found" in failed["error"].iloc[0]


def test_a_multirun_runs_its_jobs_in_parallel_processes_by_default(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = multirun(sweep, *SMALL, "features.adstock.decay_default=0.4,0.6")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=-1" in proc.stdout  # conf/config.yaml's launcher
    runs = sorted(p for p in sweep.iterdir() if (p / "run_spec.json").is_file())
    specs = [json.loads((r / "run_spec.json").read_text()) for r in runs]
    assert len({s["runtime"]["pid"] for s in specs}) == min(2, os.cpu_count() or 1)
    cpus = os.cpu_count() or 1
    assert all(s["sampler"]["cores"] == (cpus // 2 if cpus > 1 else None) for s in specs)
    assert all((r / "report.html").is_file() for r in runs)  # a worker renders it too
    assert len(pd.read_csv(sweep / "leaderboard.csv")) == 2


def test_the_basic_launcher_stays_one_override_away() -> None:
    def launcher(*overrides: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "mmm_runner", *overrides, "--cfg", "hydra", "-p",
             "hydra.launcher._target_"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout.strip()

    assert launcher() == "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    basic = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
    assert launcher("hydra/launcher=basic") == basic


def test_parallel_jobs_share_the_cores_among_the_jobs_the_sweep_has(monkeypatch) -> None:
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from mmm_runner.__main__ import parallel_jobs, share_cores
    from mmm_runner.sweep.callback import SWEEP_SIZE_VARIABLE

    joblib = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"

    def hydra(mode: str, n_jobs: int = -1, target: str = joblib) -> object:
        launcher = {"_target_": target, "n_jobs": n_jobs}
        return OmegaConf.create({"mode": RunMode[mode], "launcher": launcher})

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")  # share_cores sets them in this process otherwise
    monkeypatch.delenv(SWEEP_SIZE_VARIABLE, raising=False)
    assert parallel_jobs(hydra("RUN")) == 1  # a single run keeps every core
    assert parallel_jobs(hydra("MULTIRUN", target="hydra.BasicLauncher")) == 1
    assert parallel_jobs(hydra("MULTIRUN")) == 8
    assert parallel_jobs(hydra("MULTIRUN", n_jobs=2)) == 2
    monkeypatch.setenv(SWEEP_SIZE_VARIABLE, "3")
    assert parallel_jobs(hydra("MULTIRUN")) == 3
    cfg = OmegaConf.create({"sampler": {"cores": None}})
    share_cores(cfg, 3)
    assert cfg.sampler.cores == 2  # 8 cores // 3 jobs
    cfg = OmegaConf.create({"sampler": {"cores": 4}})
    share_cores(cfg, 3)
    assert cfg.sampler.cores == 4  # the user's own choice stands
