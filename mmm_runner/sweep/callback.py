"""Hydra callback: when a multirun ends, write the sweep's leaderboard."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class LeaderboardCallback(Callback):
    """Registered in conf/config.yaml under hydra.callbacks; a no-op for single runs."""

    def __init__(self) -> None:
        self.sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = Path(str(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from mmm_runner.store import SweepArtifact
        from mmm_runner.sweep.leaderboard import build_leaderboard

        sweep_dir = self.sweep_dir or Path(str(config.hydra.sweep.dir))
        table = build_leaderboard(sweep_dir)
        markdown = SweepArtifact.LEADERBOARD_MD.path(sweep_dir)
        print(f"leaderboard: {markdown} ({len(table)} runs)")
        if len(table) and "elpd_loo" in table:
            best = table.iloc[0]
            print(f"best: {best['run']} [{best['overrides']}] elpd_loo {best['elpd_loo']:.2f}")
