"""model=fixed reproduces the seed's numbers: the refactors behind it changed no result."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, run_cli

REFERENCE = json.loads((ROOT / "tests" / "data" / "fixed_model_roi_seed42.json").read_text())


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
    expected = REFERENCE["runs"][preset]
    assert set(channels) == set(expected)
    for name, ref in expected.items():
        got = channels[name]
        assert got["spend_total"] == pytest.approx(ref["spend_total"], rel=1e-12)
        assert got["contribution_total"] == pytest.approx(ref["contribution_total"], rel=1e-9)
        for metric in ("roas", "roi"):
            for stat, value in ref[metric].items():
                assert got[metric][stat] == pytest.approx(value, abs=1e-9), (name, metric, stat)
