"""Every `conf/dataset/` preset fits end to end with `sampler=fast` from a fresh clone: the run
finishes, every channel with spend gets a ROAS interval, the decomposition adds up, and the run
directory holds its report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, SHARED_DATA, run_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="sample_data/ not present"),
]

PRESETS = sorted(p.stem for p in (ROOT / "conf" / "dataset").glob("*.yaml"))
# dataset preset -> (drivers that must have ROAS, drivers that have no spend)
DATASETS = {
    "sample": (["act_tv", "act_digital", "act_radio"], []),
    "meridian_national": ([f"act_channel{i}" for i in range(4)], []),
    "meridian_geo": ([f"act_channel{i}" for i in range(4)], []),
    "robyn_weekly": (["spend_tv", "spend_ooh", "spend_print", "act_facebook", "act_search"],
                     ["act_newsletter"]),
    "pymc_example": (["spend_x1", "spend_x2"], []),
}  # fmt: skip


def test_every_preset_is_checked() -> None:
    assert set(PRESETS) == set(DATASETS), "add the new conf/dataset/ preset to DATASETS"


@pytest.mark.parametrize("dataset", PRESETS)
def test_dataset_fits_end_to_end(dataset: str, tmp_path: Path) -> None:
    with_spend, without_spend = DATASETS[dataset]
    run = run_cli(tmp_path / "run", f"dataset={dataset}", "sampler=fast")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.status["stage"] == "OUTPUTS_READY"
    roi = run.json("roi_metrics.json")
    for channel in with_spend:
        roas = roi["channels"][channel]["roas"]
        assert 0 <= roas["hdi_lower"] <= roas["mean"] <= roas["hdi_upper"], channel
    assert roi["channels_without_spend"] == without_spend
    table = pd.read_parquet(run.run_dir / "contributions.parquet")
    channels = [*with_spend, *without_spend]
    np.testing.assert_allclose(
        table["baseline"] + table[channels].sum(axis=1), table["fitted"], rtol=1e-6
    )
    assert isinstance(run.json("diagnostics.json")["converged"], bool)
    report = (run.run_dir / "report.html").read_text()
    assert '<section id="roas">' in report and report.count("<svg") >= 4
