"""The FastAPI application: routes, CORS, the API key, request logging, error shapes.

`create_app(settings)` builds a fresh app (tests build one per storage root); its lifespan
opens the storage root (one server per root), marks runs a previous server left live as
interrupted, and starts the run dispatcher; on shutdown live runs are stopped and marked too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from mmm_runner.api import datasets, outputs, run_routes
from mmm_runner.api.deps import Services
from mmm_runner.api.runs import Job, RunManager, worker_command
from mmm_runner.api.schemas import Health
from mmm_runner.api.storage import Storage
from mmm_runner.config.api import ApiConfig

log = logging.getLogger("mmm_runner.api")
DESCRIPTION = """The mmm_runner engine behind HTTP: upload a dataset, start runs (composed with
the same config and schema as `python -m mmm_runner`, sampled in background worker processes),
read their outputs. With `MMM_RUNNER_API_KEY` set, every route but `/health` needs
`Authorization: Bearer <key>` (the Authorize button here takes it)."""


def _version() -> str | None:
    try:
        return metadata.version("mmm_runner")
    except metadata.PackageNotFoundError:
        return None


def create_app(
    settings: ApiConfig,
    api_key: str | None = None,
    command: Callable[[Job], list[str]] = worker_command,
) -> FastAPI:
    """The app for one storage root. `command` builds a worker's argv (tests swap it)."""
    storage = Storage(settings.storage_root)
    manager = RunManager(storage, settings.max_concurrent_runs, command)
    services = Services(settings=settings, storage=storage, runs=manager, api_key=api_key)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        storage.open()
        manager.start()
        log.info(
            "serving %s (max %d concurrent runs, uploads up to %g MiB, auth %s)",
            storage.root,
            settings.max_concurrent_runs,
            settings.max_upload_mb,
            "on" if api_key else "off",
        )
        try:
            yield
        finally:
            manager.stop()
            storage.close()
            log.info("stopped")

    app = FastAPI(
        title="mmm_runner",
        version=_version() or "0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.services = services
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
    )

    @app.middleware("http")
    async def log_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """One line per request: method, path, status, milliseconds."""
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            elapsed = (time.perf_counter() - start) * 1000
            log.info("%s %s %d %.1fms", request.method, request.url.path, status, elapsed)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        """A bug answers with its message only; the traceback goes to the server log."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            status_code=500, content={"detail": f"internal error: {type(exc).__name__}: {exc}"}
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming each bad key (`body.drawz`, `path.run_id`), without echoing uploads."""
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        named = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return JSONResponse(status_code=422, content={"detail": named, "errors": errors})

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Liveness, queue counts and whether a key is required (no key needed here)."""
        running, queued = manager.counts()
        return Health(
            version=_version(),
            runs_running=running,
            runs_queued=queued,
            max_concurrent_runs=settings.max_concurrent_runs,
            auth_required=api_key is not None,
        )

    app.include_router(datasets.router)
    app.include_router(run_routes.router)
    app.include_router(outputs.router)
    return app
