"""The installable package: a built wheel runs the bundled sample from an empty directory.

The slow test does what a user does: build the wheel, install it into a fresh venv, and run
`python -m mmm_runner sampler=fast` where there is no conf/, sql/ or sample_data/ to lean on.
The venv sees the system site-packages (PyMC and friends are not downloaded again) and so also
the editable install's import hook; the test proves the venv's copy is the one imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Left behind by builds, runs and tools: not part of what `pip wheel .` should see.
NOT_SOURCE = (
    ".git", "runs", "build", "dist", "*.egg-info", "__pycache__", ".venv", ".cache",
    ".pytest_cache", ".ruff_cache", ".hypothesis", ".benchmarks", "outputs", "multirun",
)  # fmt: skip


def listed_packages() -> set[str]:
    return set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )


def test_every_code_package_is_listed() -> None:
    """pyproject's explicit package list (package-dir rules out packages.find) stays complete."""
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("mmm_runner", "hydra_plugins")
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    listed = listed_packages()
    assert not on_disk - listed, (
        f"add to pyproject.toml [tool.setuptools] packages: {on_disk - listed}"
    )
    data = {"mmm_runner.conf", "mmm_runner.sql", "mmm_runner.sample_data"}
    gone = listed - on_disk - data
    assert not gone, f"listed in pyproject.toml but no longer on disk: {gone}"


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.slow
def test_wheel_runs_sample_from_empty_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MMM_RUNNER_CONF_DIR")}
    env["PYTHONWARNINGS"] = "ignore"
    timings: dict[str, float] = {}

    # Build from a copy: an in-tree build leaves build/ in the checkout, and a stale build/lib
    # can smuggle deleted modules into the wheel.
    start = time.perf_counter()
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(dist)],
         cwd=tmp_path, env=env)  # fmt: skip
    (wheel,) = dist.glob("mmm_runner-*.whl")
    timings["build wheel"] = time.perf_counter() - start

    # --without-pip: the system pip (visible through --system-site-packages) installs into it.
    start = time.perf_counter()
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
         cwd=tmp_path, env=env)  # fmt: skip
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], cwd=tmp_path, env=env)
    timings["venv + install"] = time.perf_counter() - start

    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run(
        [python, "-c", "import sysconfig, mmm_runner, mmm_runner.resources as r; "
         "print(sysconfig.get_paths()['purelib']); print(mmm_runner.__file__); "
         "print(r.resource_root())"],
        cwd=empty, env=env,
    ).split("\n")  # fmt: skip
    site_packages, package_file, resource_root = (Path(line).resolve() for line in where[:3])
    assert site_packages.is_relative_to(venv.resolve())
    assert package_file == site_packages / "mmm_runner" / "__init__.py", package_file
    assert resource_root == site_packages / "mmm_runner", resource_root

    start = time.perf_counter()
    out = _run([python, "-m", "mmm_runner", "sampler=fast"], cwd=empty, env=env, timeout=600)
    timings["run sampler=fast"] = time.perf_counter() - start
    print({k: round(v, 1) for k, v in timings.items()})

    assert {p.name for p in empty.iterdir()} == {"runs"}
    (roi,) = (empty / "runs").rglob("roi_metrics.json")
    run_dir = roi.parent
    assert str(run_dir) in out
    assert json.loads((run_dir / "status.json").read_text())["stage"] == "OUTPUTS_READY"
    assert "<svg" in (run_dir / "report.html").read_text()  # its templates ship in the wheel
    # The composed config came from the wheel's conf/, the data from the wheel's sample.
    hydra_yaml = (run_dir / ".hydra" / "hydra.yaml").read_text()
    assert str(site_packages / "mmm_runner" / "conf") in hydra_yaml
    sample = site_packages / "mmm_runner" / "sample_data" / "mmm_sample_small.csv"
    assert str(sample) in (run_dir / "manifest.json").read_text()
