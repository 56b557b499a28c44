"""Hydra callback: a multirun prints its progress as jobs finish and ends with its leaderboard.

Progress is counted from the run directories, not in memory: with the joblib, Slurm or Ray
launchers each job's `on_job_end` runs in another process, and a finished run's status file is
the one thing every process can see.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

log = logging.getLogger(__name__)
DONE_STAGES = ("OUTPUTS_READY", "ERROR")
# The sweep's job count, for the jobs: a parallel launcher's workers (spawned after
# on_multirun_start, so they inherit it) size their share of the cores by it.
SWEEP_SIZE_VARIABLE = "MMM_RUNNER_SWEEP_SIZE"


def sweep_size(config: DictConfig) -> int | None:
    """How many jobs the basic sweeper launches (product of the sweep lists); None if unknown."""
    sweeper = str(config.hydra.sweeper.get("_target_", ""))
    if not sweeper.endswith("BasicSweeper"):
        return None
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    try:
        overrides = OverridesParser.create().parse_overrides(
            [*params, *config.hydra.overrides.task]
        )
    except Exception:  # an override only the real sweeper understands: report k, not k/N
        return None
    total, seen = 1, {}
    for override in overrides:
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [""]
        seen[override.get_key_element()] = len(values)
    for count in seen.values():
        total *= count
    return total


def jobs_done(sweep_dir: Path) -> int:
    """Run directories under the sweep that reached OUTPUTS_READY or ERROR."""
    from mmm_runner.store import Artifact, read

    done = 0
    for status in sweep_dir.glob(f"*/{Artifact.STATUS.filename}"):
        try:
            stage = (read(status.parent, Artifact.STATUS) or {}).get("stage")
        except ValueError:  # being rewritten by a live job: not done
            continue
        done += stage in DONE_STAGES
    return done


class LeaderboardCallback(Callback):
    """Registered in conf/config.yaml under hydra.callbacks; a no-op for single runs."""

    def __init__(self) -> None:
        self.sweep_dir: Path | None = None
        self.total: int | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        self.total = sweep_size(config)
        if self.total is not None:
            os.environ[SWEEP_SIZE_VARIABLE] = str(self.total)
        else:
            os.environ.pop(SWEEP_SIZE_VARIABLE, None)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        sweep_dir = Path(str(config.hydra.sweep.dir))
        total = self.total if self.total is not None else sweep_size(config)
        done = jobs_done(sweep_dir)
        print(f"{done}/{total} jobs done" if total else f"{done} jobs done", flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from mmm_runner.store import SweepArtifact
        from mmm_runner.sweep.leaderboard import build_leaderboard

        sweep_dir = self.sweep_dir or Path(str(config.hydra.sweep.dir))
        table = build_leaderboard(sweep_dir)
        markdown = SweepArtifact.LEADERBOARD_MD.path(sweep_dir)
        html = SweepArtifact.LEADERBOARD_HTML.path(sweep_dir)
        print(f"leaderboard: {markdown} and {html} ({len(table)} runs)")
        if len(table) and "elpd_loo" in table:
            best = table.iloc[0]
            print(f"best: {best['run']} [{best['overrides']}] elpd_loo {best['elpd_loo']:.2f}")
