"""The run-directory store: the only code that knows artifact names.

- `layout`: the table of artifacts (`Artifact`), their formats, writers and readers;
  `write(run_dir, Artifact.ROI, payload)` writes atomically.
- `reader`: `load_run(run_dir) -> RunRecord`, a finished or failed run as one typed object.
- `status`, `manifest`, `run_lock`: status.json, manifest.json, one live run per directory.
"""

from mmm_runner.store.layout import Artifact, Format, Stage, SweepArtifact, read, write
from mmm_runner.store.reader import NotARunDirectory, RunReadError, RunRecord, find_runs, load_run

__all__ = [
    "Artifact",
    "Format",
    "NotARunDirectory",
    "RunReadError",
    "RunRecord",
    "Stage",
    "SweepArtifact",
    "find_runs",
    "load_run",
    "read",
    "write",
]
