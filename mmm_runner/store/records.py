"""Typed views of a run's JSON artifacts.

Each view names the fields that code (leaderboard, console, REST, report) reads and keeps the
whole parsed document in `raw`, so nothing on disk is out of reach. JSON null stands for a
non-finite number (see `store.artifacts`), hence `float | None` where a metric can be NaN.
Parsing is by key: a document missing a required key raises KeyError, which the reader turns
into a `RunReadError` naming the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mmm_runner.store.layout import JsonObject


def _opt_float(value: float | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Interval:
    """A posterior summary: mean, sd and the HDI."""

    mean: float
    sd: float
    hdi_lower: float
    hdi_upper: float
    hdi_prob: float

    @classmethod
    def parse(cls, doc: JsonObject) -> Interval:
        return cls(
            float(doc["mean"]),
            float(doc["sd"]),
            float(doc["hdi_lower"]),
            float(doc["hdi_upper"]),
            float(doc["hdi_prob"]),
        )


@dataclass(frozen=True)
class RunError:
    type: str
    message: str
    last_stage_reached: str | None
    traceback: str

    @classmethod
    def parse(cls, doc: JsonObject) -> RunError:
        return cls(
            str(doc.get("type", "")),
            str(doc.get("message", "")),
            doc.get("last_stage_reached"),
            str(doc.get("traceback", "")),
        )


@dataclass(frozen=True)
class Status:
    """Where the run got to (stages in `store.status.STAGES`, or ERROR)."""

    stage: str | None
    progress: float
    message: str
    stages: dict[str, str]  # stage -> ISO timestamp it was reached
    updated_at: str | None
    error: RunError | None
    raw: JsonObject = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.stage == "OUTPUTS_READY"

    @property
    def failed(self) -> bool:
        return self.stage == "ERROR"

    @classmethod
    def parse(cls, doc: JsonObject) -> Status:
        error = doc.get("error")
        return cls(
            stage=doc.get("stage"),
            progress=float(doc.get("progress") or 0.0),
            message=str(doc.get("message") or ""),
            stages=dict(doc.get("stages") or {}),
            updated_at=doc.get("updated_at"),
            error=RunError.parse(error) if error else None,
            raw=doc,
        )


@dataclass(frozen=True)
class Diagnostics:
    converged: bool
    max_rhat: float | None  # None with one chain (R-hat undefined)
    min_ess_bulk: float | None
    min_ess_tail: float | None
    divergences: int
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    advice: tuple[str, ...]
    raw: JsonObject = field(repr=False, compare=False)

    @classmethod
    def parse(cls, doc: JsonObject) -> Diagnostics:
        return cls(
            converged=bool(doc["converged"]),
            max_rhat=_opt_float(doc["max_rhat"]),
            min_ess_bulk=_opt_float(doc["min_ess_bulk"]),
            min_ess_tail=_opt_float(doc.get("min_ess_tail")),
            divergences=int(doc["divergences"]),
            reasons=tuple(doc.get("reasons", ())),
            warnings=tuple(doc.get("warnings", ())),
            advice=tuple(doc.get("advice", ())),
            raw=doc,
        )


@dataclass(frozen=True, eq=False)
class Loo:
    """PSIS-LOO of the fit; pointwise arrays follow the fitted observations' order."""

    elpd_loo: float
    se: float
    p_loo: float
    n_samples: int
    pareto_k: np.ndarray
    loo_i: np.ndarray  # pointwise ELPD
    raw: JsonObject = field(repr=False)

    @property
    def pareto_k_threshold(self) -> float:
        """Above this k, PSIS-LOO is unreliable for a point (Vehtari et al. 2024; as arviz)."""
        return min(1.0 - 1.0 / math.log10(self.n_samples), 0.7)

    @property
    def pareto_k_bad(self) -> int:
        """How many points PSIS-LOO cannot be trusted on."""
        return int((self.pareto_k > self.pareto_k_threshold).sum())

    @classmethod
    def parse(cls, doc: JsonObject) -> Loo:
        return cls(
            elpd_loo=float(doc["elpd_loo"]),
            se=float(doc["se"]),
            p_loo=float(doc["p_loo"]),
            n_samples=int(doc["n_samples"]),
            pareto_k=np.asarray(doc["pareto_k"], dtype=float),
            loo_i=np.asarray(doc["loo_i"], dtype=float),
            raw=doc,
        )


@dataclass(frozen=True)
class ChannelRoi:
    """ROAS and ROI of one channel; None (with a `note`) when it has no spend to divide by."""

    spend_column: str | None
    spend_total: float | None
    contribution_total: float | None
    roas: Interval | None
    roi: Interval | None
    note: str | None
    mroas: Interval | None = None  # None without spend, and in runs before response curves

    @classmethod
    def parse(cls, doc: JsonObject) -> ChannelRoi:
        return cls(
            spend_column=doc.get("spend_column"),
            spend_total=_opt_float(doc.get("spend_total")),
            contribution_total=_opt_float(doc.get("contribution_total")),
            roas=Interval.parse(doc["roas"]) if doc.get("roas") else None,
            roi=Interval.parse(doc["roi"]) if doc.get("roi") else None,
            note=doc.get("note"),
            mroas=Interval.parse(doc["mroas"]) if doc.get("mroas") else None,
        )


@dataclass(frozen=True)
class RoiMetrics:
    channels: dict[str, ChannelRoi]
    converged: bool | None  # None in runs written before the flag existed
    raw: JsonObject = field(repr=False, compare=False)

    @classmethod
    def parse(cls, doc: JsonObject) -> RoiMetrics:
        channels = {name: ChannelRoi.parse(e) for name, e in doc["channels"].items()}
        return cls(channels, doc.get("converged"), doc)


@dataclass(frozen=True)
class ChannelContribution:
    contribution_total: Interval
    share_of_fitted: Interval
    share_of_incremental: Interval

    @classmethod
    def parse(cls, doc: JsonObject) -> ChannelContribution:
        return cls(
            Interval.parse(doc["contribution_total"]),
            Interval.parse(doc["share_of_fitted"]),
            Interval.parse(doc["share_of_incremental"]),
        )


@dataclass(frozen=True)
class ContributionSummary:
    n_periods: int
    actual_total: float
    fitted_total: Interval
    baseline_total: Interval
    channels: dict[str, ChannelContribution]
    converged: bool | None
    raw: JsonObject = field(repr=False, compare=False)

    @classmethod
    def parse(cls, doc: JsonObject) -> ContributionSummary:
        return cls(
            n_periods=int(doc["n_periods"]),
            actual_total=float(doc["actual_total"]),
            fitted_total=Interval.parse(doc["fitted_total"]),
            baseline_total=Interval.parse(doc["baseline_total"]),
            channels={k: ChannelContribution.parse(v) for k, v in doc["channels"].items()},
            converged=doc.get("converged"),
            raw=doc,
        )


@dataclass(frozen=True)
class SplitMetrics:
    """Fit of the predictive mean on one split, in sales units."""

    mape: float | None  # None when every actual is zero
    rmse: float
    r2: float | None
    n_periods: int
    interval_coverage_94: float | None

    @classmethod
    def parse(cls, doc: JsonObject) -> SplitMetrics:
        return cls(
            mape=_opt_float(doc["mape"]),
            rmse=float(doc["rmse"]),
            r2=_opt_float(doc.get("r2")),
            n_periods=int(doc["n_periods"]),
            interval_coverage_94=_opt_float(doc.get("interval_coverage_94")),
        )


@dataclass(frozen=True)
class FitMetrics:
    in_sample: SplitMetrics
    holdout: SplitMetrics | None  # None unless dataset.holdout_periods > 0
    raw: JsonObject = field(repr=False, compare=False)

    @classmethod
    def parse(cls, doc: JsonObject) -> FitMetrics:
        holdout = doc.get("holdout")
        return cls(SplitMetrics.parse(doc), SplitMetrics.parse(holdout) if holdout else None, doc)


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # run-dir relative, POSIX
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    config_hash: str
    input_path: str
    input_sha256: str
    packages: dict[str, str | None]
    git_commit: str | None
    git_dirty: bool | None
    artifacts: tuple[ManifestEntry, ...]
    raw: JsonObject = field(repr=False, compare=False)

    @classmethod
    def parse(cls, doc: JsonObject) -> Manifest:
        git = doc.get("git") or {}
        return cls(
            config_hash=str(doc["config_hash"]),
            input_path=str(doc["input"]["path"]),
            input_sha256=str(doc["input"]["sha256"]),
            packages=dict(doc.get("packages") or {}),
            git_commit=git.get("commit"),
            git_dirty=git.get("dirty"),
            artifacts=tuple(
                ManifestEntry(str(a["path"]), int(a["bytes"]), str(a["sha256"]))
                for a in doc["artifacts"]
            ),
            raw=doc,
        )
