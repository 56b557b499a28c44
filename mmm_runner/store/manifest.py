"""manifest.json: what is needed to reproduce and audit a run."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from mmm_runner.store.artifacts import sha256_file
from mmm_runner.store.layout import Artifact
from mmm_runner.store.run_lock import LOCK_NAME

PACKAGES = (
    "mmm_runner",
    "pymc",
    "pytensor",
    "arviz",
    "numpy",
    "pandas",
    "duckdb",
    "pyarrow",
    "hydra-core",
    "omegaconf",
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Files that change after the manifest is written (or vanish at the end of the run).
UNLISTED = (Artifact.MANIFEST.filename, Artifact.STATUS.filename, LOCK_NAME)


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state() -> dict[str, Any]:
    """Commit of the project checkout and whether it had uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(PROJECT_ROOT), *args],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(dirty) if dirty is not None else None}


def config_hash(plain_config: dict[str, Any]) -> str:
    canonical = json.dumps(plain_config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_manifest(run_dir: Path, plain_config: dict[str, Any], input_path: Path) -> dict[str, Any]:
    """Hashes of config, input and every artifact in the run directory (manifest excluded)."""
    artifacts = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(run_dir).as_posix()
        if rel in UNLISTED or path.suffix in (".tmp", ".log"):
            continue
        artifacts.append({"path": rel, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return {
        "config_hash": config_hash(plain_config),
        "input": {"path": str(input_path), "sha256": sha256_file(input_path)},
        "packages": package_versions(),
        "git": git_state(),
        "artifacts": artifacts,
    }
