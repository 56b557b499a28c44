"""A user's own conf/ folder (./conf, $MMM_RUNNER_CONF_DIR) adds presets and overrides bundled ones.

The subprocess tests run the real CLI from a temporary directory, so they exercise the
installed package's Hydra search path, not the checkout's conf/ by accident.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra._internal.config_search_path_impl import ConfigSearchPathImpl
from hydra.errors import SearchPathException

from hydra_plugins.mmm_runner_conf.user_conf import (
    ENV_VAR,
    PROVIDER,
    MMMRunnerUserConf,
    user_conf_dirs,
)
from mmm_runner.resources import conf_dir, resource_root, sample_data_dir, sql_dir

MINE = """\
name: mine
path: sample_data/mmm_sample_small.csv
grain: WEEK
target_col: sales
drivers: [act_tv, act_digital]
controls: []
"""


def cfg_job(cwd: Path, *overrides: str, env: dict[str, str] | None = None) -> str:
    """`python -m mmm_runner --cfg job` from `cwd`: the composed config, nothing run."""
    environ = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, "PYTHONPATH")}
    proc = subprocess.run(
        [sys.executable, "-m", "mmm_runner", "--cfg", "job", *overrides],
        cwd=cwd, capture_output=True, text=True, timeout=120, env={**environ, **(env or {})},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_resources_share_one_root() -> None:
    root = resource_root()
    assert (conf_dir(), sql_dir(), sample_data_dir()) == (
        root / "conf",
        root / "sql",
        root / "sample_data",
    )
    assert (conf_dir() / "config.yaml").is_file()
    assert (sample_data_dir() / "mmm_sample_small.csv").is_file()
    assert any(sql_dir().glob("validation/check_*.sql"))


def test_user_preset_from_cwd_conf(tmp_path: Path) -> None:
    (tmp_path / "conf" / "dataset").mkdir(parents=True)
    (tmp_path / "conf" / "dataset" / "mine.yaml").write_text(MINE)
    out = cfg_job(tmp_path, "dataset=mine")
    assert "name: mine" in out
    assert "- act_digital" in out and "act_radio" not in out
    assert "sampler:" in out and "model:" in out  # the bundled groups still compose alongside


def test_user_file_overrides_bundled_and_env_dir_wins(tmp_path: Path) -> None:
    local = tmp_path / "project"
    (local / "conf" / "sampler").mkdir(parents=True)
    (local / "conf" / "sampler" / "fast.yaml").write_text(
        "defaults: [default, _self_]\ndraws: 77\n"
    )
    assert "draws: 77" in cfg_job(local, "sampler=fast")
    explicit = tmp_path / "team_conf"
    (explicit / "sampler").mkdir(parents=True)
    (explicit / "sampler" / "fast.yaml").write_text("defaults: [default, _self_]\ndraws: 55\n")
    assert "draws: 55" in cfg_job(local, "sampler=fast", env={ENV_VAR: str(explicit)})


def test_search_path_order_and_gating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_VAR, str(explicit))

    search_path = ConfigSearchPathImpl()
    search_path.append("hydra", "pkg://hydra.conf")
    search_path.append("main", f"file://{conf_dir()}")
    search_path.append("schema", "structured://")
    MMMRunnerUserConf().manipulate_search_path(search_path)
    MMMRunnerUserConf().manipulate_search_path(search_path)  # registered twice: no duplicates
    assert [(e.provider, e.path) for e in search_path.get_path()] == [
        ("hydra", "pkg://hydra.conf"),
        (PROVIDER, f"file://{explicit.resolve()}"),
        (PROVIDER, f"file://{(tmp_path / 'conf').resolve()}"),
        ("main", f"file://{conf_dir()}"),
        ("schema", "structured://"),
    ]

    other_app = ConfigSearchPathImpl()
    other_app.append("main", f"file://{tmp_path / 'elsewhere'}")
    MMMRunnerUserConf().manipulate_search_path(other_app)
    assert [e.provider for e in other_app.get_path()] == ["main"]  # not mmm_runner: untouched


def test_bundled_conf_is_not_added_twice(tmp_path: Path) -> None:
    assert user_conf_dirs(cwd=conf_dir().parent, environ={}) == []  # the repository's top level
    assert user_conf_dirs(cwd=tmp_path, environ={ENV_VAR: str(conf_dir())}) == []


def test_bad_env_dir_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(SearchPathException, match=ENV_VAR):
        user_conf_dirs(cwd=tmp_path, environ={ENV_VAR: str(tmp_path / "missing")})
