"""One live run per directory: an exclusive lock file, and cleanup of a previous attempt.

Run directories are unique per process (Hydra's dir pattern includes the pid), so the lock only
matters when a user points two runs at the same `hydra.run.dir`: the second fails clearly
instead of interleaving files with the first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from mmm_runner.errors import MMMError
from mmm_runner.store.layout import OPTIMIZATIONS_DIR, WRITTEN_BY_RUN, Artifact

LOCK_NAME = ".run.lock"


class RunDirectoryInUse(MMMError):
    """Another live process is running in this directory."""


def process_alive(pid: int) -> bool:
    """A running process (a zombie, e.g. an orphan no init has reaped yet, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: kill(pid, 0) is all there is
    return state not in ("Z", "X")


def lock_owner(run_dir: Path) -> int | None:
    """The pid in `run_dir`'s lock file, or None (no lock, or unreadable)."""
    try:
        return int((Path(run_dir) / LOCK_NAME).read_text().strip())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir/.run.lock` (our pid) for the run; a stale lock of a dead process is taken."""
    lock = Path(run_dir) / LOCK_NAME
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            owner = lock_owner(run_dir)
            if owner and owner != os.getpid() and process_alive(owner):
                raise RunDirectoryInUse(
                    f"{run_dir}: run directory is in use by running process {owner}"
                ) from None
            lock.unlink(missing_ok=True)
    else:
        raise RunDirectoryInUse(f"{run_dir}: could not take the run lock {lock}")
    with os.fdopen(fd, "w") as handle:
        handle.write(str(os.getpid()))
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def clear_previous_attempt(run_dir: Path, artifacts: Iterable[Artifact] = WRITTEN_BY_RUN) -> None:
    """Remove artifacts a previous (killed or failed) run left here, and the budget allocations
    made on its posterior (`optimizations/`); user files are untouched."""
    shutil.rmtree(Path(run_dir) / OPTIMIZATIONS_DIR, ignore_errors=True)
    for artifact in artifacts:
        if artifact is Artifact.STATUS:  # replaced in place by the new run's CREATED: never absent
            continue  # (a status reader, e.g. the REST API polling, would see a 404 meanwhile)
        path = artifact.path(run_dir)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for temp in Path(run_dir).glob(".*.tmp"):
        temp.unlink(missing_ok=True)
