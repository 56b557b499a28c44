"""status.json: the stage a run has reached, so a killed run still tells its story.

Stages and lifecycle: docs/architecture.md, "Flow of one run"."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmm_runner.store.layout import Artifact, write

STAGES = ("CREATED", "VALIDATED", "FEATURES_BUILT", "TRAINING", "TRAINED", "OUTPUTS_READY")
PROGRESS = {
    "CREATED": 0.0,
    "VALIDATED": 0.2,
    "FEATURES_BUILT": 0.3,
    "TRAINING": 0.35,
    "TRAINED": 0.8,
    "OUTPUTS_READY": 1.0,
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunStatus:
    """Keeps status.json current; every change is one atomic rewrite."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.state: dict[str, Any] = {
            "stage": None,
            "progress": 0.0,
            "message": "",
            "stages": {},
            "updated_at": None,
            "error": None,
        }

    def advance(self, stage: str, message: str = "") -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        now = _now()
        self.state.update(stage=stage, progress=PROGRESS[stage], message=message, updated_at=now)
        self.state["stages"][stage] = now
        write(self.run_dir, Artifact.STATUS, self.state)

    def fail(self, exc: BaseException) -> None:
        now = _now()
        last = self.state["stage"]
        self.state.update(stage="ERROR", message=str(exc), updated_at=now)
        self.state["stages"]["ERROR"] = now
        self.state["error"] = {
            "type": type(exc).__name__,
            "message": str(exc),
            "last_stage_reached": last,
            "traceback": "".join(traceback.format_exception(exc)),
        }
        write(self.run_dir, Artifact.STATUS, self.state)
