"""The server's settings: `conf/api/default.yaml`, then a user's copy, then the environment,
then command-line flags (highest). `python -m mmm_runner.api --help` lists every one."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from hydra_plugins.mmm_runner_conf.user_conf import user_conf_dirs
from mmm_runner.config.api import (
    API_KEY_ENV,
    ENV_PREFIX,
    HELP,
    ApiConfig,
    api_config,
    setting_names,
)
from mmm_runner.errors import ConfigError
from mmm_runner.resources import conf_dir

CONF_FILE = Path("api") / "default.yaml"
LIST_SETTINGS = ("allowed_origins",)


def file_layers(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> list[dict]:
    """The bundled file, then the user's (same precedence as the run config's search path)."""
    try:
        user_dirs = user_conf_dirs(cwd, environ)
    except Exception as exc:  # hydra's SearchPathException: $MMM_RUNNER_CONF_DIR is not a folder
        raise ConfigError(str(exc)) from None
    paths = [conf_dir() / CONF_FILE, *(d / CONF_FILE for d in reversed(user_dirs))]
    layers = []
    for path in paths:
        if path.is_file():
            loaded = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
            if not isinstance(loaded, dict):
                raise ConfigError(f"{path}: expected a mapping of settings")
            layers.append(loaded)
    return layers


def _parse_value(name: str, text: str) -> Any:
    """A flag or environment value as the setting's type (lists: comma-separated)."""
    if name in LIST_SETTINGS:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text  # OmegaConf converts "8000" to int against the schema, naming a bad value


def env_layer(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    layer = {}
    for name in setting_names():
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None and value.strip():
            layer[name] = _parse_value(name, value)
    return layer


def parser() -> argparse.ArgumentParser:
    epilog = (
        f"Each setting also reads the environment variable {ENV_PREFIX}<NAME> (e.g. "
        f"{ENV_PREFIX}PORT=9000) and a user's conf/api/default.yaml. Set {API_KEY_ENV} to "
        "require 'Authorization: Bearer <key>' on every route but /health. Interactive docs: "
        "http://<host>:<port>/docs"
    )
    p = argparse.ArgumentParser(
        prog="python -m mmm_runner.api",
        description="Serve mmm_runner over HTTP (FastAPI on uvicorn).",
        epilog=epilog,
    )
    defaults = ApiConfig()
    for name in setting_names():
        default = getattr(defaults, name)
        shown = ",".join(default) if isinstance(default, list) else default
        p.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            metavar=name.upper(),
            default=None,
            help=f"{HELP[name]} (env {ENV_PREFIX}{name.upper()}; default {shown})",
        )
    return p


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> ApiConfig:
    """Every layer merged; argparse exits with usage on an unknown flag."""
    args = parser().parse_args(argv)
    flags = {k: _parse_value(k, v) for k, v in vars(args).items() if v is not None}
    return api_config(*file_layers(environ=environ), env_layer(environ), flags)


def api_key(environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    return environ.get(API_KEY_ENV) or None
