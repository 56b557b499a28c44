"""How often does `sampler=fast` converge on the bundled sample? (R-hat < 1.01, ESS > 400.)

    python benchmarks/convergence.py [--seeds 20] [override ...]

Fits the sample once per seed with the given overrides (default: the default model at
`sampler=fast`) and prints each run's max R-hat, min ESS and divergences, then the count.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recovery_study import compose  # noqa: E402
from mmm_runner.pipeline import run_pipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("override", nargs="*", help="config overrides (default: sampler=fast)")
    args = parser.parse_args()
    overrides = args.override or ["sampler=fast"]
    converged = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            cfg = compose([*overrides, f"sampler.random_seed={seed}"])
            result = run_pipeline(cfg, Path(tmp) / str(seed), echo=lambda _: None)
            d = result.diagnostics
            converged += bool(d["converged"])
            print(
                f"seed {seed:>2}: converged={d['converged']!s:<5} max R-hat {d['max_rhat']:.4f}  "
                f"min ESS bulk {d['min_ess_bulk']:.0f} / tail {d['min_ess_tail']:.0f}  "
                f"divergences {d['divergences']}  sampling {result.timings['sampling']:.2f} s",
                flush=True,
            )
    verdict = "PASS" if converged >= 0.95 * args.seeds else "MISS"
    print(f"converged on {converged} of {args.seeds} seeds ({' '.join(overrides)})  "
          f"target >= 19 of 20: {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
