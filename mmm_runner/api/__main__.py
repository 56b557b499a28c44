"""`python -m mmm_runner.api [--port N] [--storage-root DIR] ...`: serve the REST API.

Settings: conf/api/default.yaml, a user's conf/api/default.yaml, `MMM_RUNNER_API_<KEY>`
environment variables, then these flags (`--help` lists them). Interactive docs at /docs.
"""

from __future__ import annotations

import logging
import sys

from mmm_runner.api.settings import api_key, load_settings
from mmm_runner.api.storage import StorageInUse
from mmm_runner.errors import MMMError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings(argv)
    except MMMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    from mmm_runner.api.app import create_app

    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("arviz.preview").setLevel(logging.WARNING)  # INFO lines on import
    app = create_app(settings, api_key=api_key())
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,  # the app logs one line per request itself
            log_config=None,  # keep the logging set up above
        )
    except StorageInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
