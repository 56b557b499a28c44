"""A user's `./conf` (and `$MMM_RUNNER_CONF_DIR`) ahead of mmm_runner's bundled config.

With the package installed, a project keeps only its own presets: `conf/dataset/mine.yaml` in
the working directory makes `dataset=mine` work, and a file with the same path as a bundled one
(`conf/sampler/default.yaml`, even `conf/config.yaml`) replaces it. Precedence, highest first:
`$MMM_RUNNER_CONF_DIR`, `./conf`, the bundled conf/. A directory that *is* the bundled conf/
(running from the repository's own top level) is not added twice.

Hydra runs every installed SearchPathPlugin for every Hydra app, so this one acts only when the
app's primary config is mmm_runner's. Hydra's plugin scan finds it in an installed wheel but not
through an editable install's import hook, so `mmm_runner.__main__` also registers it by hand.
Standard library, Hydra and `mmm_runner.resources` only: imported on each start, `--help` too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.errors import SearchPathException
from hydra.plugins.search_path_plugin import SearchPathPlugin

from mmm_runner.resources import conf_dir

ENV_VAR = "MMM_RUNNER_CONF_DIR"
PROVIDER = "mmm_runner-user-conf"


def _as_dir(path: str) -> Path | None:
    """A search-path entry as a local directory (None for pkg://, structured://, ...)."""
    if path.startswith("file://"):
        path = path[len("file://") :]
    elif "://" in path:
        return None
    return Path(path).expanduser().resolve()


def user_conf_dirs(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The user's config folders, highest precedence first, never the bundled conf/ itself."""
    environ = os.environ if environ is None else environ
    found: list[Path] = []
    explicit = environ.get(ENV_VAR, "").strip()
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not path.is_dir():
            raise SearchPathException(f"{ENV_VAR}={explicit}: not a directory")
        found.append(path)
    local = ((cwd or Path.cwd()) / "conf").resolve()
    if local.is_dir():
        found.append(local)
    bundled = conf_dir().resolve()
    unique: list[Path] = []
    for path in found:
        if path != bundled and path not in unique:
            unique.append(path)
    return unique


class MMMRunnerUserConf(SearchPathPlugin):
    """Puts the user's config folders just before the bundled conf/ (provider `main`)."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        try:
            bundled = conf_dir().resolve()
        except FileNotFoundError:  # a broken mmm_runner install must not break other Hydra apps
            return
        is_mmm_runner = any(
            element.provider == "main" and _as_dir(element.path) == bundled
            for element in search_path.get_path()
        )
        if not is_mmm_runner:
            return
        present = {element.path for element in search_path.get_path()}
        for path in user_conf_dirs():
            entry = f"file://{path}"
            if entry in present:  # registered by __main__ and found by Hydra's scan: runs twice
                continue
            # Each lands right before `main`: the earlier, higher-precedence dir stays first.
            search_path.prepend(PROVIDER, entry, anchor=SearchPathQuery(provider="main"))
