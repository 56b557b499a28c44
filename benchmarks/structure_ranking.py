"""Does the leaderboard put the structure that made the data first? (a real multirun sweep)

    python benchmarks/structure_ranking.py

Simulates data from each structure and runs, per dataset, the sweep a user would run:
`python -m mmm_runner -m model=default,additive dataset.path=<csv> sampler=fast` with nothing
else configured. The sweep's own `leaderboard.csv` (ranked by ELPD-LOO on the target's scale,
docs/model.md) must put the true structure first.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmm_runner.synthetic import CaseSpec, simulate_case  # noqa: E402

CASES = [
    CaseSpec("learned", 3, "WEEK", 3, seed=1),
    CaseSpec("additive", 3, "WEEK", 3, seed=11),
    CaseSpec("learned", 4, "WEEK", 3, seed=41),
    CaseSpec("additive", 4, "WEEK", 3, seed=42),
]
TRUE_MODEL = {"learned": "default", "additive": "additive"}


def sweep(csv: Path, name: str, sweep_dir: Path) -> pd.DataFrame:
    """Run the multirun and return its leaderboard."""
    cmd = [sys.executable, "-m", "mmm_runner", "-m", "model=default,additive",
           f"dataset.path={csv}", f"dataset.name={name}", "dataset.drivers=[]",
           "dataset.controls=[]", "sampler=fast", f"hydra.sweep.dir={sweep_dir}"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return pd.read_csv(sweep_dir / "leaderboard.csv")


def main() -> None:
    right = 0
    for spec in CASES:
        tmp = Path(tempfile.mkdtemp(prefix="ranking_"))
        panel, _ = simulate_case(spec)
        csv = tmp / f"{spec.name}.csv"
        panel.to_csv(csv, index=False)
        board = sweep(csv, spec.name, tmp / "sweep")
        first = board.sort_values("rank").iloc[0]
        winner = "additive" if "model=additive" in str(first["overrides"]) else "default"
        elpd = ", ".join(
            f"{row.overrides.split('model=')[1].split()[0]} {row.elpd_loo:.1f} "
            f"(se {row.elpd_loo_se:.1f}, {row.reliability})"
            for row in board.sort_values("rank").itertuples()
        )
        right += winner == TRUE_MODEL[spec.structure]
        print(f"{spec.name:<32} leaderboard: {elpd}  -> {winner}", flush=True)
    print(f"true structure ranked first on {right} of {len(CASES)} sweeps")


if __name__ == "__main__":
    main()
