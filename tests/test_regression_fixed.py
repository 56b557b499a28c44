"""model=fixed reproduces the seed's numbers: the refactors behind it changed no result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

REFERENCE = json.loads((ROOT / "tests" / "data" / "fixed_model_roi_seed42.json").read_text())


def cpu_model() -> str:
    """The processor's name: MCMC draws follow its floating-point path (see the JSON's note)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")


def reference_runs() -> dict:
    """The pre-refactor engine's numbers captured on this processor, else the original machine's."""
    return REFERENCE.get("by_cpu", {}).get(cpu_model(), REFERENCE["runs"])


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["fast", "default"])
def test_fixed_model_roi_equals_the_seed_engine_to_1e_9(tmp_path, preset) -> None:
    # the seed engine's presets: fast was 500 x 2 chains then
    run = run_cli(
        tmp_path / preset, "model=fixed", f"sampler={preset}", "sampler.chains=2",
        "sampler.random_seed=42",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    channels = run.json("roi_metrics.json")["channels"]
    expected = reference_runs()[preset]
    assert set(channels) == set(expected)
    for name, ref in expected.items():
        got = channels[name]
        assert got["spend_total"] == pytest.approx(ref["spend_total"], rel=1e-12)
        assert got["contribution_total"] == pytest.approx(ref["contribution_total"], rel=1e-9)
        for metric in ("roas", "roi"):
            for stat, value in ref[metric].items():
                assert got[metric][stat] == pytest.approx(value, abs=1e-9), (name, metric, stat)
