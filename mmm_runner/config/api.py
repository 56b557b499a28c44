"""Settings of the REST service (`python -m mmm_runner.api`), one typed dataclass.

Kept apart from `schema.py`: a run's config and the server's are separate documents (a run never
sees the server's port). `conf/api/default.yaml` holds the defaults; `mmm_runner.api.settings`
layers a user's file, `MMM_RUNNER_API_<KEY>` environment variables and command-line flags on top
and checks the result here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from omegaconf import OmegaConf

from mmm_runner.errors import ConfigError

ENV_PREFIX = "MMM_RUNNER_API_"
API_KEY_ENV = "MMM_RUNNER_API_KEY"  # a secret: environment only, never a file or a flag
LOCAL_FRONT_ENDS = [
    f"http://{host}:{port}" for port in (5173, 3000) for host in ("localhost", "127.0.0.1")
]
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@dataclass
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    storage_root: str = "api_storage"
    max_upload_mb: float = 200.0
    max_concurrent_runs: int = 2
    allowed_origins: list[str] = field(default_factory=lambda: list(LOCAL_FRONT_ENDS))
    log_level: str = "info"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


HELP = {
    "host": "interface to listen on (127.0.0.1: this machine only)",
    "port": "TCP port",
    "storage_root": "folder for uploads, run directories and run specs",
    "max_upload_mb": "largest dataset upload accepted, in MiB (413 above)",
    "max_concurrent_runs": "runs sampling at once; the rest wait in a queue",
    "allowed_origins": "CORS origins allowed to call the API (comma-separated in env/flags)",
    "log_level": "logging level: " + ", ".join(LOG_LEVELS),
}


def api_config(*layers: dict[str, Any]) -> ApiConfig:
    """Merge plain-dict layers (lowest first) over the schema; an unknown key or a bad type or
    value raises ConfigError naming the key."""
    merged = OmegaConf.structured(ApiConfig)
    for layer in layers:
        try:
            merged = OmegaConf.merge(merged, layer)
        except Exception as exc:  # omegaconf's ValidationError / ConfigKeyError
            key = getattr(exc, "full_key", None) or "api settings"
            raise ConfigError(f"api.{key}: {str(exc).splitlines()[0]}") from None
    cfg = OmegaConf.to_object(merged)
    assert isinstance(cfg, ApiConfig)
    check_api_config(cfg)
    return cfg


def check_api_config(cfg: ApiConfig) -> None:
    rules = [
        ("port", 0 <= cfg.port <= 65535, "must be in [0, 65535]"),
        ("max_upload_mb", cfg.max_upload_mb > 0, "must be > 0"),
        ("max_concurrent_runs", cfg.max_concurrent_runs >= 1, "must be >= 1"),
        ("storage_root", bool(cfg.storage_root.strip()), "must not be empty"),
        ("log_level", cfg.log_level.lower() in LOG_LEVELS, f"one of {', '.join(LOG_LEVELS)}"),
    ]
    for key, ok, rule in rules:
        if not ok:
            raise ConfigError(f"api.{key}: {rule}")


def setting_names() -> list[str]:
    return [f.name for f in fields(ApiConfig)]
