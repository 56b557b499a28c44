"""Artifact writing: strict JSON, atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmm_runner.store.artifacts import write_json, write_text, write_with


def test_non_finite_numbers_become_null(tmp_path: Path) -> None:
    path = write_json(tmp_path / "x.json", {"rhat": float("nan"), "ess": [np.float64(np.inf), 3.0]})
    assert json.loads(path.read_text()) == {"rhat": None, "ess": [None, 3.0]}


def test_writer_failing_mid_write_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = write_text(tmp_path / "a.txt", "old")

    def half_then_crash(path: Path) -> None:
        path.write_text("half of the new cont")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_with(target, half_then_crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
