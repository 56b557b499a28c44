"""Dataset routes: upload (streamed, size-limited, validated by the SQL screen), list, read,
columns, delete (refused while a live run reads the dataset).

An upload is validated exactly as a run's first stage validates it (`data.validate` with the
config a default run on it would compose), in a staging folder; only a file that passes is
renamed into `datasets/<id>/`, so a listed dataset is always complete and valid.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from mmm_runner.api.deps import DatasetId, Svc, require_key
from mmm_runner.api.runspec import compose_config
from mmm_runner.api.schemas import (
    ERROR_RESPONSES,
    ApiError,
    ColumnInfo,
    ColumnName,
    ColumnPlan,
    DatasetColumns,
    DatasetDetail,
    DatasetInfo,
    DatasetList,
    DatasetUploaded,
    Deleted,
    ValidationSummary,
)
from mmm_runner.api.storage import DATASET_META, ID_PATTERN, Storage, now_iso, remove_tree
from mmm_runner.api.uploads import FILE_FIELD, UploadRejected, receive_upload
from mmm_runner.config.schema import DatasetConfig
from mmm_runner.data.sql import SqlSession
from mmm_runner.data.validate import validate
from mmm_runner.model import periods_to_fit
from mmm_runner.store.artifacts import write_json
from mmm_runner.store.layout import Artifact, read, write

log = logging.getLogger("mmm_runner.api.datasets")
router = APIRouter(
    prefix="/datasets",
    tags=["datasets"],
    dependencies=[Depends(require_key)],
    responses=ERROR_RESPONSES,
)
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
            }
        }
    },
}


@cache
def _default_model() -> tuple[Any, Any]:
    """The model and features a default run composes: they set the periods a dataset needs."""
    cfg = compose_config([])
    return cfg.model, cfg.features


def validate_file(path: Path, dataset_id: str, target_col: str, date_format: str) -> dict:
    """validation_summary.json for the file, as a default run on it would validate it: every
    act_* driver, every ctrl_* control, grain auto."""
    dataset = DatasetConfig(
        name=dataset_id, path=str(path), target_col=target_col, date_format=date_format
    )
    model, features = _default_model()
    session = SqlSession()
    try:
        report = validate(session, path, dataset, periods_to_fit(model, features))
    finally:
        session.close()
    summary = report.summary
    summary["file"] = path.name  # the storage path is the server's business
    return summary


def dataset_info(svc: Svc, dataset_id: str) -> tuple[DatasetInfo, dict[str, Any]]:
    """404 unless the dataset exists."""
    meta = svc.storage.dataset_meta(dataset_id)
    if meta is None:
        raise HTTPException(404, f"dataset {dataset_id!r} not found")
    summary = read(svc.storage.dataset_dir(dataset_id), Artifact.VALIDATION_SUMMARY) or {}
    info = DatasetInfo(
        **{k: meta[k] for k in ("dataset_id", "filename", "format", "bytes", "sha256")},
        uploaded_at=meta["uploaded_at"],
        target_col=meta["target_col"],
        date_format=meta["date_format"],
        grain=summary.get("grain"),
        n_periods=summary.get("n_periods"),
        n_entities=summary.get("n_entities"),
        date_range=summary.get("date_range"),
        in_use_by=svc.runs.live_runs_using(dataset_id),
    )
    return info, summary


@router.post(
    "/upload",
    status_code=201,
    response_model=DatasetUploaded,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={
        409: {"model": ApiError, "description": "the id is taken"},
        413: {"model": ApiError, "description": "over the upload limit"},
        415: {"model": ApiError, "description": "not a .csv or .parquet file"},
        422: {
            "model": ApiError,
            "description": "bad id, or the data failed validation (summary included)",
        },
    },
)
async def upload_dataset(
    request: Request,
    svc: Svc,
    dataset_id: Annotated[str, Query(pattern=ID_PATTERN, description="the new dataset's id")],
    target_col: Annotated[ColumnName, Query()] = "sales",
    date_format: Annotated[ColumnName, Query()] = "%Y-%m-%d",
) -> Any:
    """Upload a CSV or Parquet file (multipart field `file`) and validate it.

    The file streams to disk and stops with 413 past `api.max_upload_mb`; it is then checked
    by the same SQL validation as a run's first stage. 201 with the validation summary, or 422
    with it when a check fails (nothing is stored)."""
    storage: Storage = svc.storage
    if svc.storage.dataset_meta(dataset_id) is not None:
        raise HTTPException(409, f"dataset {dataset_id!r} exists; delete it first")
    staging = storage.staging_dir()
    try:
        try:
            received = await receive_upload(
                request, staging, dataset_id, svc.settings.max_upload_bytes
            )
        except UploadRejected as exc:
            log.info("upload %s refused (%d): %s", dataset_id, exc.status, exc)
            raise HTTPException(exc.status, str(exc)) from None
        summary = await run_in_threadpool(
            validate_file, received.path, dataset_id, target_col, date_format
        )
        if not summary.get("passed"):
            first = (summary.get("errors") or ["validation failed"])[0]
            log.info("upload %s failed validation: %s", dataset_id, first)
            return JSONResponse(
                status_code=422,
                content={"detail": f"{FILE_FIELD}: {first}", "validation_summary": summary},
            )
        meta = {
            "dataset_id": dataset_id,
            "filename": received.filename,
            "format": received.format,
            "stored_as": received.path.name,
            "bytes": received.bytes,
            "sha256": received.sha256,
            "uploaded_at": now_iso(),
            "target_col": target_col,
            "date_format": date_format,
        }
        write(staging, Artifact.VALIDATION_SUMMARY, summary)
        write_json(staging / DATASET_META, meta)
        try:
            storage.publish_dataset(staging, dataset_id)
        except (FileExistsError, OSError):
            raise HTTPException(409, f"dataset {dataset_id!r} exists; delete it first") from None
    finally:
        remove_tree(staging)  # gone already when published
    log.info("dataset %s stored (%d bytes, %s)", dataset_id, received.bytes, received.format)
    info, _ = dataset_info(svc, dataset_id)
    return DatasetUploaded(dataset=info, validation=ValidationSummary(**summary))


@router.get("", response_model=DatasetList)
def list_datasets(svc: Svc) -> DatasetList:
    """Every stored dataset, by id."""
    infos = []
    for dataset_id in svc.storage.dataset_ids():
        try:
            infos.append(dataset_info(svc, dataset_id)[0])
        except HTTPException:  # deleted while listing
            continue
    return DatasetList(datasets=infos)


@router.get("/{dataset_id:path}/raw", response_class=FileResponse)
def dataset_raw(svc: Svc, dataset_id: DatasetId) -> FileResponse:
    """The file as uploaded."""
    info, _ = dataset_info(svc, dataset_id)
    path = svc.storage.dataset_file(dataset_id)
    assert path is not None
    return FileResponse(
        path, media_type=MEDIA_TYPES[info.format], filename=f"{dataset_id}.{info.format}"
    )


@router.get("/{dataset_id:path}/columns", response_model=DatasetColumns)
def dataset_columns(svc: Svc, dataset_id: DatasetId) -> DatasetColumns:
    """Each column's role (target, driver, spend, control, key, ignored) and profile."""
    _, summary = dataset_info(svc, dataset_id)
    plan = summary.get("columns") or {}
    profile = {p["column_name"]: p for p in summary.get("column_profile") or []}
    roles = dict(plan.get("roles") or {})
    roles.update({name: "ignored" for name in plan.get("ignored") or []})
    columns = []
    for name, role in roles.items():
        stats = profile.get(name, {})
        fields = ("n_rows", "n_missing", "min_value", "max_value", "mean_value")
        columns.append(ColumnInfo(name=name, role=role, **{k: stats.get(k) for k in fields}))
    return DatasetColumns(
        dataset_id=dataset_id, columns=columns, plan=ColumnPlan(**plan) if plan else None
    )


@router.get("/{dataset_id:path}", response_model=DatasetDetail)
def get_dataset(svc: Svc, dataset_id: DatasetId) -> DatasetDetail:
    """The dataset and its full validation summary."""
    info, summary = dataset_info(svc, dataset_id)
    return DatasetDetail(dataset=info, validation=ValidationSummary(**summary))


@router.delete(
    "/{dataset_id:path}",
    response_model=Deleted,
    responses={409: {"model": ApiError, "description": "a live run uses it"}},
)
def delete_dataset(svc: Svc, dataset_id: DatasetId) -> Deleted:
    """Delete the dataset; 409 while a queued or running run reads it (finished runs keep
    their own copy of what they computed, and the input's hash in manifest.json)."""
    with svc.runs.lock:  # no run can be created on it between the check and the removal
        dataset_info(svc, dataset_id)
        users = svc.runs.live_runs_using(dataset_id)
        if users:
            raise HTTPException(
                409, f"dataset {dataset_id!r} is used by live run(s) {', '.join(users)}"
            )
        svc.storage.remove_dataset(dataset_id)
    log.info("dataset %s deleted", dataset_id)
    return Deleted(id=dataset_id)
