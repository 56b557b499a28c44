"""Run routes: create (validated now, run in the background), list, status, spec, delete."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from mmm_runner.api.deps import RunId, Svc, require_key
from mmm_runner.api.runs import Job, read_status
from mmm_runner.api.runspec import compose_config, spec_overrides
from mmm_runner.api.schemas import (
    ERROR_RESPONSES,
    ApiError,
    Deleted,
    RunCreated,
    RunErrorInfo,
    RunInfo,
    RunList,
    RunSpec,
    RunSpecResponse,
    RunStatusResponse,
)
from mmm_runner.api.storage import new_run_id, now_iso
from mmm_runner.errors import ConfigError
from mmm_runner.store.layout import Artifact, read
from mmm_runner.store.status import RunStatus

log = logging.getLogger("mmm_runner.api.runs")
router = APIRouter(
    prefix="/runs",
    tags=["runs"],
    dependencies=[Depends(require_key)],
    responses=ERROR_RESPONSES,
)


def status_response(svc: Svc, run_id: str) -> RunStatusResponse:
    """404 unless the run exists. The traceback stays in status.json."""
    run_dir = svc.storage.run_dir(run_id)
    status = read_status(run_dir) if run_dir.is_dir() else None
    if status is None:
        raise HTTPException(404, f"run {run_id!r} not found")
    error = status.error
    return RunStatusResponse(
        run_id=run_id,
        stage=status.stage,
        progress=status.progress,
        message=status.message,
        stages=status.stages,
        updated_at=status.updated_at,
        queue_position=status.raw.get("queue_position"),
        error=RunErrorInfo(
            type=error.type, message=error.message, last_stage_reached=error.last_stage_reached
        )
        if error
        else None,
    )


@router.post(
    "/create",
    status_code=202,
    response_model=RunCreated,
    responses={
        404: {"model": ApiError, "description": "unknown dataset"},
        422: {"model": ApiError, "description": "bad spec"},
    },
)
def create_run(spec: RunSpec, svc: Svc) -> RunCreated:
    """Queue a run. The spec is composed with the CLI's config and schema first, so an unknown
    key or a bad value is a 422 naming it; the run then starts when a slot is free."""
    storage = svc.storage
    meta = storage.dataset_meta(spec.dataset_id)
    data_path = storage.dataset_file(spec.dataset_id)
    if meta is None or data_path is None:
        raise HTTPException(404, f"dataset {spec.dataset_id!r} not found")
    try:
        overrides = spec_overrides(spec, data_path, meta)
        compose_config(overrides)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None
    run_id = new_run_id()
    run_dir = storage.run_dir(run_id)
    with svc.runs.lock:  # the dataset cannot be deleted between this check and the queueing
        if storage.dataset_meta(spec.dataset_id) is None:
            raise HTTPException(404, f"dataset {spec.dataset_id!r} not found")
        run_dir.mkdir()
        record = {
            "run_id": run_id,
            "dataset_id": spec.dataset_id,
            "created_at": now_iso(),
            "spec": spec.model_dump(mode="json", exclude_none=True),
            "overrides": overrides,
        }
        storage.write_request(run_id, record)
        RunStatus(run_dir).queued(None, "queued")
        svc.runs.submit(Job(run_id, spec.dataset_id, run_dir, overrides))
    return RunCreated(run_id=run_id, status=status_response(svc, run_id), overrides=overrides)


@router.get("", response_model=RunList)
def list_runs(svc: Svc) -> RunList:
    """Every run in the storage root, oldest first."""
    runs = []
    for run_id in svc.storage.run_ids():
        status = read_status(svc.storage.run_dir(run_id))
        if status is None:
            continue
        request = svc.storage.read_request(run_id) or {}
        roi = read(svc.storage.run_dir(run_id), Artifact.ROI) if status.finished else None
        runs.append(
            RunInfo(
                run_id=run_id,
                dataset_id=request.get("dataset_id"),
                created_at=request.get("created_at") or status.stages.get("CREATED"),
                stage=status.stage,
                progress=status.progress,
                message=status.message,
                queue_position=status.raw.get("queue_position"),
                converged=roi.get("converged") if isinstance(roi, dict) else None,
            )
        )
    return RunList(runs=runs)


@router.get("/{run_id:path}/status", response_model=RunStatusResponse)
def run_status(svc: Svc, run_id: RunId) -> RunStatusResponse:
    """Stage, progress, stage timestamps, queue position; on ERROR the message (the traceback
    is in the run directory's status.json)."""
    return status_response(svc, run_id)


@router.get("/{run_id:path}/spec", response_model=RunSpecResponse)
def run_spec(svc: Svc, run_id: RunId) -> RunSpecResponse:
    """The spec as submitted, the Hydra overrides it became, and the composed config."""
    status_response(svc, run_id)
    run_dir = svc.storage.run_dir(run_id)
    request: dict[str, Any] = svc.storage.read_request(run_id) or {}
    config = read(run_dir, Artifact.HYDRA_CONFIG)
    overrides = request.get("overrides") or read(run_dir, Artifact.HYDRA_OVERRIDES) or []
    return RunSpecResponse(
        run_id=run_id,
        spec=request.get("spec"),
        overrides=[str(o) for o in overrides],
        config=config if isinstance(config, dict) else None,
    )


@router.delete("/{run_id:path}", response_model=Deleted)
def delete_run(svc: Svc, run_id: RunId) -> Deleted:
    """Cancel the run if it is live (its worker is killed, status ERROR "cancelled"), then
    delete its directory."""
    status_response(svc, run_id)
    cancelled = svc.runs.cancel(run_id)
    final = status_response(svc, run_id)
    svc.storage.remove_run(run_id)
    log.info("run %s deleted%s", run_id, " (cancelled)" if cancelled else "")
    return Deleted(id=run_id, cancelled=cancelled, status=final)
