"""One project-controlled place for compile caches (PyTensor, numba, JAX).

Resolution order: `sampler.cache_dir`, then $MMM_RUNNER_CACHE_DIR, then
$XDG_CACHE_HOME/mmm_runner (default ~/.cache/mmm_runner). PyTensor and numba read their
settings at import, so this runs before either is imported; a later call in the same process
can only move the JAX cache.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

# numba checks only a cached function's own file for changes, not the constants or helpers it
# imports from other files; keying the cache folder on every native source makes any change to
# them start a fresh cache instead of loading stale machine code.
NATIVE_SOURCES = sorted((Path(__file__).resolve().parents[1] / "model").glob("*native*.py"))


def native_source_digest() -> str:
    digest = hashlib.sha256()
    for path in NATIVE_SOURCES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_root(configured: str | None = None) -> Path:
    if configured:
        return Path(configured).expanduser().resolve()
    if os.environ.get("MMM_RUNNER_CACHE_DIR"):
        return Path(os.environ["MMM_RUNNER_CACHE_DIR"]).expanduser().resolve()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (base / "mmm_runner").resolve()


def configure_caches(configured: str | None = None) -> dict[str, str]:
    """Point every compiler's cache below one root; returns where each one is."""
    root = cache_root(configured)
    places = {
        "pytensor": root / "pytensor",
        "numba": root / f"numba-{native_source_digest()}",
        "jax": root / "jax",
    }
    for path in places.values():
        path.mkdir(parents=True, exist_ok=True)
    if "pytensor" not in sys.modules:
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        if "base_compiledir" not in flags:
            entry = f"base_compiledir={places['pytensor']}"
            os.environ["PYTENSOR_FLAGS"] = f"{flags},{entry}" if flags else entry
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_CACHE_DIR", str(places["numba"]))
    if "jax" in sys.modules:
        configure_jax_cache(places["jax"])
    return {name: str(path) for name, path in places.items()}


def configure_jax_cache(path: Path) -> None:
    import jax

    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
