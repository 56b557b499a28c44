"""status.json: the stage a run has reached, so a killed run still tells its story.

Stages and lifecycle: docs/architecture.md, "Flow of one run"."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmm_runner.store.layout import Artifact, read, write

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

    @classmethod
    def load(cls, run_dir: Path) -> RunStatus:
        """The status.json another process wrote, to update it (a server queueing or stopping
        a run it does not execute itself)."""
        status = cls(run_dir)
        doc = read(status.run_dir, Artifact.STATUS)
        if isinstance(doc, dict):
            status.state.update(doc)
            status.state["stages"] = dict(doc.get("stages") or {})
        return status

    def queued(self, position: int | None, message: str) -> None:
        """CREATED and waiting for a worker; `queue_position` 1 starts next, None: starting."""
        now = _now()
        self.state.update(
            stage="CREATED", progress=0.0, message=message, updated_at=now, queue_position=position
        )
        self.state["stages"].setdefault("CREATED", now)
        write(self.run_dir, Artifact.STATUS, self.state)

    def stopped(self, message: str, details: str = "") -> None:
        """ERROR with no exception to format: the run was stopped from outside (cancelled, its
        server died) or its process ended without a word; `details` takes the traceback's place."""
        now = _now()
        last = self.state["stage"]
        self.state.update(stage="ERROR", message=message, updated_at=now, queue_position=None)
        self.state["stages"]["ERROR"] = now
        self.state["error"] = {
            "type": "RunStopped",
            "message": message,
            "last_stage_reached": last,
            "traceback": details,
        }
        write(self.run_dir, Artifact.STATUS, self.state)

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
