"""Every `python -m mmm_runner...` command in README.md works as written.

A run command is composed with `--cfg job` (the config it would run, without sampling): a typo,
a removed key or a preset that no longer exists fails here. A multirun is composed once per job
of its sweep (`--cfg` and `-m` exclude each other). The other Hydra apps (`.optimize`) are
composed as written with `--cfg job` too; argparse entry points (`.compare`, `.report`,
`.review`, ...) are asked for `--help`: the module exists and parses its arguments. A command
whose Hydra launcher plugin is not installed here (Slurm, Ray) is skipped, saying so.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
LAUNCHER_PLUGINS = {
    "joblib": "hydra_plugins.hydra_joblib_launcher",
    "submitit_slurm": "hydra_plugins.hydra_submitit_launcher",
    "submitit_local": "hydra_plugins.hydra_submitit_launcher",
    "ray": "hydra_plugins.hydra_ray_launcher",
}
NOT_RUN = ("--cfg", "--info", "--help", "-h")  # already print instead of running


def readme_commands(text: str) -> list[str]:
    """Commands from ```bash blocks (continuations joined) and from inline code spans."""
    found = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            found += [p for p in line.split("&&") if p.strip().startswith("python -m mmm_runner")]
    found += re.findall(r"`(python -m mmm_runner[^`]*)`", text)
    commands = []
    for command in found:
        command = " ".join(command.split("#", 1)[0].split())  # comments out, whitespace folded
        if command not in commands:
            commands.append(command)
    return commands


COMMANDS = readme_commands(README.read_text())


def jobs(args: list[str]) -> list[list[str]]:
    """A multirun's overrides, once per job of its sweep (a,b,c lists outside brackets)."""
    lists = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and "," in value and not value.startswith(("[", "{", "'", '"')):
            lists.append([f"{key}={v}" for v in value.split(",")])
        else:
            lists.append([arg])
    return [list(combo) for combo in itertools.product(*lists)]


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "HYDRA_FULL_ERROR": "1"},
    )


def test_readme_has_the_commands() -> None:
    assert len(COMMANDS) >= 8
    assert any(c.split()[2] == "mmm_runner.report" for c in COMMANDS)
    assert any(c.split()[2] == "mmm_runner.review" for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_works_as_written(command: str, tmp_path: Path) -> None:
    argv = shlex.split(command)[1:]  # -m <module> args...
    module, args = argv[1], [a for a in argv[2:] if a != "..."]
    if module != "mmm_runner":
        proc = run(["-m", module, "--help"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        if "powered by Hydra" not in proc.stdout:  # argparse: --help is all it can check
            assert "usage:" in proc.stdout
            return
        proc = run(["-m", module, *args, "--cfg", "job"], tmp_path)  # a Hydra app: compose it
        assert proc.returncode == 0, proc.stderr[-2000:]
        return
    for arg in args:
        launcher = arg.partition("hydra/launcher=")[2]
        plugin = LAUNCHER_PLUGINS.get(launcher)
        if plugin and importlib.util.find_spec(plugin) is None:
            pytest.skip(f"the {launcher} launcher plugin is not installed here ({plugin})")
    if any(a in NOT_RUN for a in args):
        proc = run(["-m", module, *args], tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return
    multirun = "-m" in args or "--multirun" in args
    overrides = [a for a in args if a not in ("-m", "--multirun")]
    for job in jobs(overrides) if multirun else [overrides]:
        proc = run(["-m", module, *job, "--cfg", "job"], tmp_path)
        assert proc.returncode == 0, f"{job}\n{proc.stderr[-2000:]}"
        assert "sampler:" in proc.stdout and "dataset:" in proc.stdout
