"""What every route shares: the services on `app.state`, the API key check, typed ids."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mmm_runner.api.storage import ID_PATTERN, Storage
from mmm_runner.config.api import API_KEY_ENV, ApiConfig

if TYPE_CHECKING:
    from mmm_runner.api.runs import RunManager


@dataclass
class Services:
    settings: ApiConfig
    storage: Storage
    runs: RunManager
    api_key: str | None


def services(request: Request) -> Services:
    return request.app.state.services


_bearer = HTTPBearer(auto_error=False, description=f"the key in ${API_KEY_ENV}, when it is set")


def require_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With MMM_RUNNER_API_KEY set, `Authorization: Bearer <key>` or 401."""
    expected = services(request).api_key
    if expected is None:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


Svc = Annotated[Services, Depends(services)]
# Routes declare ids as `{run_id:path}`: an id holding '/' (`..%2F..%2Fetc`) reaches the pattern
# check and is a 422, instead of silently matching no route.
RunId = Annotated[str, Path(pattern=ID_PATTERN, description="a run id")]
DatasetId = Annotated[str, Path(pattern=ID_PATTERN, description="a dataset id")]
