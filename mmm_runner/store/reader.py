"""Read a finished (or failed, or killed) run directory back as one typed object.

`load_run(path)` parses the small JSON artifacts at once and leaves the large ones on disk:
DataFrames and the posterior load on first access, so listing a hundred runs for a leaderboard
reads a few kilobytes each and never imports arviz. An artifact the run did not get to write
(a failed or killed run) is None, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import pandas as pd

from mmm_runner.errors import MMMError
from mmm_runner.store.layout import Artifact, Format, JsonObject, read
from mmm_runner.store.records import (
    ContributionSummary,
    Diagnostics,
    FitMetrics,
    Loo,
    Manifest,
    RoiMetrics,
    Status,
)

if TYPE_CHECKING:
    from arviz import InferenceData

# Keys the pipeline adds to the resolved config in run_spec.json.
RUN_SPEC_EXTRAS = ("resolved_input_path", "runtime")
T = TypeVar("T")


class NotARunDirectory(MMMError):
    """The path holds no run (no status file)."""


class RunReadError(MMMError):
    """An artifact exists but cannot be parsed (hand-edited, or from an incompatible version)."""


def is_run_dir(path: Path) -> bool:
    return Artifact.STATUS.path(path).is_file()


def find_runs(root: Path) -> list[Path]:
    """Every run directory at or below `root`, sorted."""
    return sorted({p.parent for p in Path(root).rglob(Artifact.STATUS.filename)})


def _load(run_dir: Path, artifact: Artifact) -> object:
    try:
        return read(run_dir, artifact)
    except ImportError:
        raise  # a missing library (arviz, pyarrow) is not a damaged run
    except Exception as exc:  # each format's parser raises its own error types
        raise RunReadError(
            f"{artifact.path(run_dir)}: unreadable {artifact.format}: {exc}"
        ) from exc


def _document(run_dir: Path, artifact: Artifact) -> JsonObject | None:
    if artifact.format is not Format.JSON:
        raise ValueError(f"{artifact.filename} is {artifact.format}, not a JSON document")
    doc = _load(run_dir, artifact)
    if doc is not None and not isinstance(doc, dict):
        raise RunReadError(f"{artifact.path(run_dir)}: expected a JSON object")
    return doc


def _parsed(run_dir: Path, artifact: Artifact, parse: Callable[[JsonObject], T]) -> T | None:
    doc = _document(run_dir, artifact)
    if doc is None:
        return None
    try:
        return parse(doc)
    except (KeyError, TypeError, ValueError) as exc:
        path = artifact.path(run_dir)
        raise RunReadError(f"{path}: unexpected content ({type(exc).__name__}: {exc})") from exc


@dataclass(frozen=True)
class RunRecord:
    """One run directory. JSON artifacts are parsed; frames and posterior load on access."""

    run_dir: Path
    status: Status
    config: JsonObject | None  # the composed config: .hydra/config.yaml, else run_spec.json
    overrides: tuple[str, ...]  # Hydra command-line overrides; () outside Hydra
    run_spec: JsonObject | None
    validation: JsonObject | None
    diagnostics: Diagnostics | None
    loo: Loo | None
    roi: RoiMetrics | None
    contribution_summary: ContributionSummary | None
    fit_metrics: FitMetrics | None
    manifest: Manifest | None

    @property
    def converged(self) -> bool | None:
        return self.diagnostics.converged if self.diagnostics else None

    def path(self, artifact: Artifact) -> Path:
        return artifact.path(self.run_dir)

    def has(self, artifact: Artifact) -> bool:
        return self.path(artifact).exists()

    def document(self, artifact: Artifact) -> JsonObject | None:
        """Any JSON artifact as parsed JSON (e.g. MODEL_METADATA, COLUMN_INFO); None if absent."""
        return _document(self.run_dir, artifact)

    def _frame(self, artifact: Artifact) -> pd.DataFrame | None:
        frame = _load(self.run_dir, artifact)
        assert frame is None or isinstance(frame, pd.DataFrame)
        return frame

    @cached_property
    def contributions(self) -> pd.DataFrame | None:
        return self._frame(Artifact.CONTRIBUTIONS)

    @cached_property
    def fitted(self) -> pd.DataFrame | None:
        return self._frame(Artifact.FITTED)

    @cached_property
    def features(self) -> pd.DataFrame | None:
        return self._frame(Artifact.FEATURES)

    @cached_property
    def canonical(self) -> pd.DataFrame | None:
        return self._frame(Artifact.CANONICAL_DATA)

    @cached_property
    def response_curves(self) -> pd.DataFrame | None:
        return self._frame(Artifact.RESPONSE_CURVES)

    @cached_property
    def posterior(self) -> InferenceData | None:
        """The arviz InferenceData; the first access imports arviz and reads the netCDF."""
        return cast("InferenceData | None", _load(self.run_dir, Artifact.POSTERIOR))


def _config(run_dir: Path, run_spec: JsonObject | None) -> JsonObject | None:
    composed = _load(run_dir, Artifact.HYDRA_CONFIG)
    if isinstance(composed, dict):
        return composed
    if run_spec is None:
        return None
    return {k: v for k, v in run_spec.items() if k not in RUN_SPEC_EXTRAS}


def load_run(run_dir: Path | str) -> RunRecord:
    """Read `run_dir`; NotARunDirectory if it holds no run, RunReadError if a file is corrupt."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NotARunDirectory(f"{run_dir}: not a directory")
    if not is_run_dir(run_dir):
        raise NotARunDirectory(
            f"{run_dir}: not a run directory (no {Artifact.STATUS.filename}); "
            "runs are written by `python -m mmm_runner` or mmm_runner.pipeline.run_pipeline"
        )
    status = _parsed(run_dir, Artifact.STATUS, Status.parse)
    assert status is not None
    run_spec = _document(run_dir, Artifact.RUN_SPEC)
    overrides = _load(run_dir, Artifact.HYDRA_OVERRIDES)
    return RunRecord(
        run_dir=run_dir,
        status=status,
        config=_config(run_dir, run_spec),
        overrides=tuple(str(o) for o in overrides) if isinstance(overrides, list) else (),
        run_spec=run_spec,
        validation=_document(run_dir, Artifact.VALIDATION_SUMMARY),
        diagnostics=_parsed(run_dir, Artifact.DIAGNOSTICS, Diagnostics.parse),
        loo=_parsed(run_dir, Artifact.LOO, Loo.parse),
        roi=_parsed(run_dir, Artifact.ROI, RoiMetrics.parse),
        contribution_summary=_parsed(
            run_dir, Artifact.CONTRIBUTION_SUMMARY, ContributionSummary.parse
        ),
        fit_metrics=_parsed(run_dir, Artifact.FIT_METRICS, FitMetrics.parse),
        manifest=_parsed(run_dir, Artifact.MANIFEST, Manifest.parse),
    )
