"""Where the bundled `conf/`, `sql/` and `sample_data/` folders are, installed or not.

The three folders live at the repository's top level and ship inside the wheel as
`mmm_runner/conf`, `mmm_runner/sql` and `mmm_runner/sample_data` (pyproject.toml maps them with
`package-dir`). `importlib.resources` finds them in an installed wheel; in a source checkout or an
editable install they are the checkout's own top-level folders, so an edit there counts at once.
All three always share one parent, `resource_root()`: a relative `sample_data/...` path or an
SQL file's `sql/...` label means the same thing in both layouts.

Standard library only: Hydra's plugin scan and the CLI's config path import this on every start.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

PACKAGE = "mmm_runner"
FOLDERS = ("conf", "sql", "sample_data")
_MARKER = "conf"  # the folder whose presence tells which layout this is


@cache
def resource_root() -> Path:
    """The directory holding `conf/`, `sql/` and `sample_data/`.

    The package directory itself in an installed wheel; the checkout's top level when the code
    runs from source (editable install or `PYTHONPATH`), where the folders stay where they are.
    """
    package_dir = Path(str(files(PACKAGE)))
    for candidate in (package_dir, package_dir.parent):
        if (candidate / _MARKER).is_dir():
            return candidate.resolve()
    raise FileNotFoundError(
        f"mmm_runner's bundled {_MARKER}/ folder is missing (looked in {package_dir} and "
        f"{package_dir.parent}); reinstall the package"
    )


def conf_dir() -> Path:
    """The bundled Hydra config (the primary `config.yaml` and its groups)."""
    return resource_root() / "conf"


def sql_dir() -> Path:
    """The DuckDB SQL files of the data layer."""
    return resource_root() / "sql"


def sample_data_dir() -> Path:
    """The bundled simulated sample (`dataset=sample`) and its true effects."""
    return resource_root() / "sample_data"
