"""Output routes: a run's artifacts as JSON (tables as rows), its HTML report, and the budget
optimizer. Everything is read through `store` (`load_run`, `Artifact`), never by file name."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from mmm_runner.api.deps import RunId, Svc, require_key
from mmm_runner.api.optimizer import OptimizerUnavailable, run_optimizer
from mmm_runner.api.runs import read_status
from mmm_runner.api.schemas import (
    ERROR_RESPONSES,
    ApiError,
    ChannelSummary,
    ContributionsResponse,
    DiagnosticsResponse,
    FittedResponse,
    Interval,
    OptimizeRequest,
    OptimizeResponse,
    PosteriorSummaryResponse,
    RoiResponse,
    RunSummary,
    Table,
)
from mmm_runner.errors import ConfigError, MMMError
from mmm_runner.store import Artifact, RunRecord, load_run, read
from mmm_runner.store.records import Interval as StoredInterval

log = logging.getLogger("mmm_runner.api.outputs")
router = APIRouter(
    prefix="/outputs",
    tags=["outputs"],
    dependencies=[Depends(require_key)],
    responses=ERROR_RESPONSES,
)


def run_dir_of(svc: Svc, run_id: str) -> Path:
    run_dir = svc.storage.run_dir(run_id)
    if not run_dir.is_dir() or read_status(run_dir) is None:
        raise HTTPException(404, f"run {run_id!r} not found")
    return run_dir


def artifact(svc: Svc, run_id: str, which: Artifact) -> Any:
    """The parsed artifact; 404 naming it and the run's stage when the run has not written it."""
    run_dir = run_dir_of(svc, run_id)
    try:
        value = read(run_dir, which)
    except ImportError:
        raise
    except Exception as exc:  # each format's parser has its own errors: a damaged file
        raise HTTPException(
            409, f"run {run_id!r}: {which.filename} is unreadable ({type(exc).__name__})"
        ) from None
    if value is None:
        status = read_status(run_dir)
        stage = status.stage if status else None
        raise HTTPException(
            404,
            f"run {run_id!r} has no {which.filename} (stage {stage}); it is written once "
            "the run reaches OUTPUTS_READY",
        )
    return value


def as_table(frame: pd.DataFrame) -> Table:
    """Rows as JSON objects: dates as YYYY-MM-DD, NaN as null."""
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
    rows = json.loads(frame.to_json(orient="records", double_precision=15))
    return Table(columns=[str(c) for c in frame.columns], rows=rows)


@router.get(
    "/{run_id:path}/posterior_summary",
    response_model=PosteriorSummaryResponse,
    response_model_exclude_unset=True,
)
def posterior_summary(svc: Svc, run_id: RunId) -> Any:
    """Per parameter: mean, sd, 94% HDI, R-hat, ESS."""
    return artifact(svc, run_id, Artifact.POSTERIOR_SUMMARY)


@router.get(
    "/{run_id:path}/diagnostics",
    response_model=DiagnosticsResponse,
    response_model_exclude_unset=True,
)
def diagnostics(svc: Svc, run_id: RunId) -> Any:
    """Convergence verdict with reasons and advice; R-hat, ESS, divergences."""
    return artifact(svc, run_id, Artifact.DIAGNOSTICS)


@router.get("/{run_id:path}/roi", response_model=RoiResponse, response_model_exclude_unset=True)
def roi(svc: Svc, run_id: RunId) -> Any:
    """ROAS and ROI per channel: posterior mean, sd and 94% HDI."""
    return artifact(svc, run_id, Artifact.ROI)


@router.get("/{run_id:path}/contributions", response_model=ContributionsResponse)
def contributions(svc: Svc, run_id: RunId) -> ContributionsResponse:
    """Per period: actual, fitted, baseline and each channel's contribution; totals and shares."""
    table = as_table(artifact(svc, run_id, Artifact.CONTRIBUTIONS))
    summary = read(run_dir_of(svc, run_id), Artifact.CONTRIBUTION_SUMMARY)
    return ContributionsResponse(columns=table.columns, rows=table.rows, summary=summary)


@router.get("/{run_id:path}/fitted", response_model=FittedResponse)
def fitted(svc: Svc, run_id: RunId) -> FittedResponse:
    """Per period: actual against predicted with its 94% interval; fit metrics."""
    table = as_table(artifact(svc, run_id, Artifact.FITTED))
    metrics = read(run_dir_of(svc, run_id), Artifact.FIT_METRICS)
    return FittedResponse(columns=table.columns, rows=table.rows, fit_metrics=metrics)


@router.get("/{run_id:path}/response_curves", response_model=Table)
def response_curves(svc: Svc, run_id: RunId) -> Table:
    """Per channel and spend multiplier (0-2x): incremental target and ROAS with 94% HDIs."""
    return as_table(artifact(svc, run_id, Artifact.RESPONSE_CURVES))


@router.get("/{run_id:path}/report", response_class=HTMLResponse)
def report(svc: Svc, run_id: RunId) -> HTMLResponse:
    """The run's self-contained HTML report."""
    return HTMLResponse(artifact(svc, run_id, Artifact.REPORT))


def _interval(value: StoredInterval | None) -> Interval | None:
    if value is None:
        return None
    return Interval(
        mean=value.mean,
        sd=value.sd,
        hdi_lower=value.hdi_lower,
        hdi_upper=value.hdi_upper,
        hdi_prob=value.hdi_prob,
    )


def summarize(run_id: str, record: RunRecord) -> RunSummary:
    diag, fit, loo = record.diagnostics, record.fit_metrics, record.loo
    shares = record.contribution_summary.channels if record.contribution_summary else {}
    channels = {}
    for name, entry in (record.roi.channels if record.roi else {}).items():
        share = shares.get(name)
        channels[name] = ChannelSummary(
            spend_total=entry.spend_total,
            roas=_interval(entry.roas),
            roi=_interval(entry.roi),
            share_of_incremental=_interval(share.share_of_incremental) if share else None,
        )
    return RunSummary(
        run_id=run_id,
        stage=record.status.stage,
        converged=record.converged,
        max_rhat=diag.max_rhat if diag else None,
        divergences=diag.divergences if diag else None,
        elpd_loo=loo.elpd_loo if loo else None,
        elpd_loo_se=loo.se if loo else None,
        mape=fit.in_sample.mape if fit else None,
        r2=fit.in_sample.r2 if fit else None,
        holdout_mape=fit.holdout.mape if fit and fit.holdout else None,
        channels=channels,
        advice=list(diag.advice) if diag else [],
    )


@router.get("/{run_id:path}/summary", response_model=RunSummary)
def summary(svc: Svc, run_id: RunId) -> RunSummary:
    """The one screen a dashboard shows: convergence, ELPD, fit, ROAS/ROI and shares."""
    run_dir = run_dir_of(svc, run_id)
    try:
        record = load_run(run_dir)
    except MMMError as exc:
        raise HTTPException(409, f"run {run_id!r}: {exc}") from None
    return summarize(run_id, record)


@router.post(
    "/{run_id:path}/optimize",
    response_model=OptimizeResponse,
    response_model_exclude_unset=True,
    responses={
        409: {"model": ApiError, "description": "the run is not finished"},
        501: {"model": ApiError, "description": "no budget optimizer in this install"},
    },
)
async def optimize(svc: Svc, run_id: RunId, settings: OptimizeRequest) -> Any:
    """Allocate a budget across channels over the run's posterior (refits nothing); the
    allocation is also written to the run's `optimizations/<name>/`."""
    run_dir = run_dir_of(svc, run_id)
    status = read_status(run_dir)
    if status is None or not status.finished:
        stage = status.stage if status else None
        raise HTTPException(409, f"run {run_id!r} is not finished (stage {stage})")
    try:
        doc = await run_in_threadpool(run_optimizer, run_dir, settings)
    except OptimizerUnavailable as exc:
        raise HTTPException(501, str(exc)) from None
    except ConfigError as exc:
        raise HTTPException(422, str(exc).replace(str(run_dir), run_id)) from None
    except MMMError as exc:
        raise HTTPException(409, str(exc).replace(str(run_dir), run_id)) from None
    log.info("run %s: budget allocation %s", run_id, doc.get("name"))
    return doc
