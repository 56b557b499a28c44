"""The storage root's layout, and the only place a client-supplied id becomes a path.

```
<root>/datasets/<id>/<id>.csv|.parquet   the upload, as received
<root>/datasets/<id>/validation_summary.json, dataset.json
<root>/runs/<id>/                        a run directory, the same layout as a CLI run
<root>/requests/<id>.json                the run spec as submitted and its Hydra overrides
<root>/tmp/                              uploads in flight; emptied when the server starts
```

An id must match `ID_PATTERN` before any path is built from it (`Storage.dataset_dir`,
`Storage.run_dir` check again), so `../../etc` never reaches the file system. One server per
root: it holds an exclusive lock on `<root>/.server.lock` while it runs.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from mmm_runner.errors import MMMError
from mmm_runner.store.artifacts import read_json, write_json

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_ID = re.compile(ID_PATTERN)
DATASET_FORMATS = {".csv": "csv", ".parquet": "parquet"}
DATASET_META = "dataset.json"
WORKER_LOG = "worker.log"  # the worker's stdout and stderr (manifests skip *.log)
SERVER_LOCK = ".server.lock"


class StorageInUse(MMMError):
    """Another server process holds this storage root."""


def check_id(value: str, what: str = "id") -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"{what} must match {ID_PATTERN}: got {value!r}")
    return value


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """Sortable by creation time, unique without coordination."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4)


class Storage:
    """Paths under the root; creating, reading and removing what lives there."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self.datasets = self.root / "datasets"
        self.runs = self.root / "runs"
        self.requests = self.root / "requests"
        self.tmp = self.root / "tmp"
        self._lock_handle: IO[str] | None = None

    def open(self) -> None:
        """Create the folders, take the server lock, and drop uploads a dead server left."""
        for folder in (self.datasets, self.runs, self.requests, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock()
        for leftover in self.tmp.iterdir():
            remove_tree(leftover)
        for folder in (self.datasets, self.runs):  # deletions a dead server left half done
            for partial in folder.glob(".deleting-*"):
                remove_tree(partial)

    def close(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()  # releases the flock
            self._lock_handle = None

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: one server per root is then the operator's job
            return
        handle = (self.root / SERVER_LOCK).open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StorageInUse(f"{self.root}: another mmm_runner API server uses it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_handle = handle

    # datasets
    def dataset_dir(self, dataset_id: str) -> Path:
        return self.datasets / check_id(dataset_id, "dataset_id")

    def dataset_ids(self) -> list[str]:
        return sorted(
            p.name
            for p in self.datasets.iterdir()
            if p.is_dir() and _ID.fullmatch(p.name) and (p / DATASET_META).is_file()
        )

    def dataset_meta(self, dataset_id: str) -> dict[str, Any] | None:
        path = self.dataset_dir(dataset_id) / DATASET_META
        return read_json(path) if path.is_file() else None

    def dataset_file(self, dataset_id: str) -> Path | None:
        meta = self.dataset_meta(dataset_id)
        if meta is None:
            return None
        return self.dataset_dir(dataset_id) / str(meta["stored_as"])

    def staging_dir(self) -> Path:
        """A fresh folder under tmp/ for one upload."""
        path = self.tmp / f"upload-{secrets.token_hex(8)}"
        path.mkdir()
        return path

    def publish_dataset(self, staged: Path, dataset_id: str) -> Path:
        """Rename a complete staging folder into place: readers see all of it or nothing.
        FileExistsError if the id is taken."""
        target = self.dataset_dir(dataset_id)
        if target.exists():
            raise FileExistsError(target)
        os.rename(staged, target)  # atomic on one file system; fails if target appeared
        return target

    def remove_dataset(self, dataset_id: str) -> None:
        retire(self.dataset_dir(dataset_id))

    # runs
    def run_dir(self, run_id: str) -> Path:
        return self.runs / check_id(run_id, "run_id")

    def request_path(self, run_id: str) -> Path:
        return self.requests / f"{check_id(run_id, 'run_id')}.json"

    def write_request(self, run_id: str, record: dict[str, Any]) -> None:
        write_json(self.request_path(run_id), record)

    def read_request(self, run_id: str) -> dict[str, Any] | None:
        path = self.request_path(run_id)
        return read_json(path) if path.is_file() else None

    def run_ids(self) -> list[str]:
        return sorted(p.name for p in self.runs.iterdir() if p.is_dir() and _ID.fullmatch(p.name))

    def remove_run(self, run_id: str) -> None:
        retire(self.run_dir(run_id))
        self.request_path(run_id).unlink(missing_ok=True)


def retire(path: Path) -> None:
    """Rename to a hidden name first, then delete: a crash mid-delete leaves no half folder
    under a real id (Storage.open removes hidden leftovers)."""
    if not path.exists():
        return
    hidden = path.with_name(f".deleting-{path.name}-{secrets.token_hex(4)}")
    os.rename(path, hidden)
    remove_tree(hidden)


def remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
