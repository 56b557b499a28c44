"""--help, --cfg job, config errors and validation errors never import PyMC (or its kin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

HEAVY = ("pymc", "pytensor", "arviz", "nutpie", "numba", "jax")


def imported_modules(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mmm_runner", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--cfg", "job"],
        ["sampler.drawz=5"],
        ["sampler.target_accept=2"],
        ["dataset.path=sample_data/mmm_sample_small_truth.json"],
    ],
    ids=["help", "cfg_job", "unknown_key", "bad_value", "bad_data"],
)
def test_no_heavy_import(args: list[str], tmp_path: Path) -> None:
    modules = imported_modules(f"hydra.run.dir={tmp_path / 'run'}", *args)
    assert "hydra" in modules  # the probe works
    assert not modules & set(HEAVY), modules & set(HEAVY)
