"""model.level=entity against the brand model on the same simulated entity panels.

    python benchmarks/entity_study.py                 # recovery (CASES) and the speed figure
    python benchmarks/entity_study.py --quick         # two recovery cases, then the speed figure
    python benchmarks/entity_study.py --speed-only
    python benchmarks/entity_study.py --out benchmarks/entity_study.json

Recovery: each panel (`mmm_runner.synthetic_entity`: entities with their own flighting and
partially pooled effects, beta[e, c] = beta[c] exp(tau z[e, c])) is fitted twice through the
CLI's pipeline with `sampler=fast`: `model=default` (brand level, the panel summed) and
`model=default model.level=entity`. Scored per channel against the true brand ROAS: 94% HDI
coverage, median relative error of the posterior mean, HDI width; and, for the entity model,
coverage of every entity's ROAS. Bars (issue 16): brand ROAS coverage >= 90%, median error
<= 10%, narrower intervals than the brand model; per-entity coverage >= 85%.

Speed: a 50-entity x 156-week panel with 5 channels, `sampler=fast`, fitted twice (the second
run warm: compile caches and the process's compiled graph reused); the brand model on the same
data beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.recovery_study import compose  # noqa: E402
from mmm_runner.synthetic_entity import EntitySpec, simulate_entities  # noqa: E402

CASES = [
    EntitySpec(n_entities=10, n_channels=3, tau=0.3, seed=1),
    EntitySpec(n_entities=20, n_channels=4, tau=0.3, seed=2),
    EntitySpec(n_entities=30, n_channels=3, tau=0.2, seed=3),
    EntitySpec(n_entities=15, n_channels=5, tau=0.4, seed=4),
    EntitySpec(n_entities=50, n_channels=3, tau=0.3, seed=5),
    EntitySpec(n_entities=10, n_channels=4, tau=0.3, population=True, seed=6),
]
QUICK = [0, 1]
SPEED = EntitySpec(n_entities=50, n_channels=5, weeks=156, tau=0.3, seed=50)


def fit(spec: EntitySpec, level: str, workdir: Path, extra: list[str] | None = None) -> Any:
    """Run the pipeline on the simulated panel; returns (RunResult, seconds, run_dir)."""
    from mmm_runner.pipeline import run_pipeline

    csv = workdir / f"{spec.name}.csv"
    if not csv.exists():
        panel, _ = simulate_entities(spec)
        panel.to_csv(csv, index=False)
    overrides = [
        f"dataset.path={csv}",
        f"dataset.name={spec.name}",
        "dataset.grain=WEEK",
        "dataset.drivers=[]",
        "dataset.controls=[]",
        "model=default",
        f"model.level={level}",
        "sampler=fast",
        *(["dataset.population_col=population"] if spec.population else []),
        *(extra or []),
    ]
    run_dir = workdir / f"{spec.name}_{level}_{time.time_ns()}"
    start = time.perf_counter()
    result = run_pipeline(compose(overrides), run_dir, echo=lambda _: None)
    return result, time.perf_counter() - start, run_dir


def score(result: Any, truth: dict) -> list[dict]:
    rows = []
    for channel in truth["channels"]:
        roas = result.roi["channels"][channel]["roas"]
        true = truth["roas"][channel]
        rows.append(
            {
                "channel": channel,
                "true": true,
                "mean": roas["mean"],
                "lower": roas["hdi_lower"],
                "upper": roas["hdi_upper"],
                "covered": roas["hdi_lower"] <= true <= roas["hdi_upper"],
                "rel_error": abs(roas["mean"] - true) / true,
                "rel_width": (roas["hdi_upper"] - roas["hdi_lower"]) / true,
            }
        )
    return rows


def entity_coverage(run_dir: Path, truth: dict) -> tuple[int, int, float]:
    from mmm_runner.store import Artifact, read

    table = read(run_dir, Artifact.ENTITY_ROI)
    covered, errors = 0, []
    for row in table.itertuples():
        true = truth["entity_roas"][row.entity_id][row.channel]
        covered += row.roas_hdi_lower <= true <= row.roas_hdi_upper
        errors.append(abs(row.roas_mean - true) / true)
    return covered, len(table), statistics.median(errors)


def recovery(cases: list[EntitySpec], workdir: Path) -> list[dict]:
    results = []
    for spec in cases:
        _, truth = simulate_entities(spec)
        case: dict[str, Any] = {"case": spec.name}
        for level in ("brand", "entity"):
            result, seconds, run_dir = fit(spec, level, workdir)
            rows = score(result, truth)
            case[level] = {
                "converged": result.diagnostics["converged"],
                "max_rhat": result.diagnostics["max_rhat"],
                "seconds": round(seconds, 1),
                "sampling_seconds": result.timings.get("sampling"),
                "channels": rows,
            }
            if level == "entity":
                covered, total, median = entity_coverage(run_dir, truth)
                case[level]["entity_covered"] = [covered, total]
                case[level]["entity_median_rel_error"] = median
            print(
                f"{spec.name:<44} {level:<6} converged={result.diagnostics['converged']} "
                f"covered {sum(r['covered'] for r in rows)}/{len(rows)} "
                f"median error {statistics.median(r['rel_error'] for r in rows):.1%} "
                f"median width {statistics.median(r['rel_width'] for r in rows):.2f} "
                f"({seconds:.1f}s)",
                flush=True,
            )
        results.append(case)
    return results


def summary(results: list[dict]) -> dict:
    out: dict[str, Any] = {}
    for level in ("brand", "entity"):
        rows = [r for case in results for r in case[level]["channels"]]
        out[level] = {
            "channels": len(rows),
            "coverage": sum(r["covered"] for r in rows) / len(rows),
            "median_rel_error": statistics.median(r["rel_error"] for r in rows),
            "median_rel_hdi_width": statistics.median(r["rel_width"] for r in rows),
            "converged": f"{sum(c[level]['converged'] for c in results)}/{len(results)}",
        }
    covered = sum(c["entity"]["entity_covered"][0] for c in results)
    total = sum(c["entity"]["entity_covered"][1] for c in results)
    out["entity"]["per_entity_coverage"] = covered / total
    out["entity"]["per_entity_rois"] = total
    pairs = [
        (b["rel_width"], e["rel_width"])
        for c in results
        for b, e in zip(c["brand"]["channels"], c["entity"]["channels"], strict=True)
    ]
    out["entity_narrower_share"] = sum(e < b for b, e in pairs) / len(pairs)
    return out


def speed(workdir: Path, attempts: tuple[str, ...] = ("cold", "warm")) -> dict:
    """Wall and sampling time; "cold" is the first run in this process (numba's on-disk cache
    may already be warm from an earlier process: run once after a cache wipe for a cold figure)."""
    timings: dict[str, Any] = {"spec": SPEED.name}
    for level in ("entity", "brand"):
        for attempt in attempts:
            result, seconds, _ = fit(SPEED, level, workdir)
            timings[f"{level}_{attempt}"] = {
                "wall_seconds": round(seconds, 1),
                "train_seconds": result.timings.get("train"),
                "sampling_seconds": result.timings.get("sampling"),
                "converged": result.diagnostics["converged"],
                "max_rhat": result.diagnostics["max_rhat"],
                "min_ess_bulk": result.diagnostics.get("min_ess_bulk"),
                "divergences": result.diagnostics.get("divergences"),
                "timings": result.timings,
            }
            print(
                f"speed {level} {attempt}: {seconds:.1f}s",
                json.dumps(timings[f"{level}_{attempt}"]),
                flush=True,
            )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--recovery-only", action="store_true")
    parser.add_argument("--cases", default=None, help="comma-separated indices into CASES")
    parser.add_argument("--once", action="store_true", help="speed: one run per level")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.speed_only:
            indices = [int(i) for i in args.cases.split(",")] if args.cases else None
            cases = [CASES[i] for i in (indices or (QUICK if args.quick else range(len(CASES))))]
            results = recovery(cases, workdir)
            report["recovery"] = results
            report["recovery_summary"] = summary(results)
            print(json.dumps(report["recovery_summary"], indent=2), flush=True)
        if not args.recovery_only:
            report["speed"] = speed(workdir, ("warm",) if args.once else ("cold", "warm"))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
