"""Does ELPD-LOO pick the structure that made the data? (model=default vs model=additive)

    python benchmarks/structure_ranking.py

Simulates data from each structure, fits both at sampler=fast with nothing else configured and
prints each fit's ELPD-LOO (on the target's scale, as the leaderboard ranks them).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recovery_study import compose  # noqa: E402
from mmm_runner.pipeline import run_pipeline  # noqa: E402
from mmm_runner.synthetic import CaseSpec, simulate_case  # noqa: E402

CASES = [
    CaseSpec("learned", 3, "WEEK", 3, seed=1),
    CaseSpec("additive", 3, "WEEK", 3, seed=11),
    CaseSpec("learned", 4, "WEEK", 3, seed=41),
    CaseSpec("additive", 4, "WEEK", 3, seed=42),
]
TRUE_MODEL = {"learned": "default", "additive": "additive"}


def main() -> None:
    right = 0
    for spec in CASES:
        tmp = Path(tempfile.mkdtemp(prefix="ranking_"))
        panel, _ = simulate_case(spec)
        csv = tmp / f"{spec.name}.csv"
        panel.to_csv(csv, index=False)
        elpd = {}
        for model in ("default", "additive"):
            cfg = compose([f"dataset.path={csv}", f"dataset.name={spec.name}",
                           "dataset.drivers=[]", "dataset.controls=[]", f"model={model}",
                           "sampler=fast"])  # fmt: skip
            run_pipeline(cfg, tmp / model, echo=lambda _: None)
            elpd[model] = json.loads((tmp / model / "loo.json").read_text())["elpd_loo"]
        best = max(elpd, key=lambda m: elpd[m])
        right += best == TRUE_MODEL[spec.structure]
        print(f"{spec.name:<32} elpd default {elpd['default']:.1f}  additive "
              f"{elpd['additive']:.1f}  -> {best}", flush=True)  # fmt: skip
    print(f"true structure ranked first on {right} of {len(CASES)} datasets")


if __name__ == "__main__":
    main()
