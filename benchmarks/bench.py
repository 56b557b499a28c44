"""Side-by-side speed benchmark of mmm_runner (issue: the fastest MMM fit on a CPU).

    python benchmarks/bench.py            # everything (~10 min on 2 cores)
    python benchmarks/bench.py --quick    # 3 reference runs extrapolated to 20; 1M data rows

(c), PyMC-Marketing, runs when this Python has it (`pip install -e ".[bench]"`) or with
`--pymc-marketing-python PATH` (e.g. a separate venv); otherwise it is skipped with a note.

Every figure comes from processes started here, one after another, on the same machine and
data: wall time of the whole process (imports, compile, sampling, outputs), min ESS from each
run's own diagnostics, peak RSS of the process. Ratios are printed against the targets.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = {
    "features.adstock.decay_default": ["0.1", "0.3", "0.5", "0.7", "0.9"],
    "features.saturation.K": ["0.3", "0.5", "0.7", "0.9"],
}


@dataclass
class Timed:
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str
    returncode: int


def run(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> Timed:
    """Wall time and peak RSS of one command's largest process (its tree, via a fresh waiter)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", PEAK_WRAPPER, *cmd], cwd=cwd,
        env={**os.environ, **(env or {})}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    head, marker, peak = err.rpartition("PEAK_KB=")
    peak_kb = float(peak) if marker else 0.0
    return Timed(seconds, peak_kb / 1024, out, head if marker else err, proc.returncode)


# Runs the command as its only child, then reports the largest RSS among the processes it reaped.
PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "sys.stderr.write('PEAK_KB=%d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)"
)


def mmm(*overrides: str, env: dict | None = None) -> tuple[Timed, dict]:
    run_dir = Path(tempfile.mkdtemp(prefix="bench_run_"))
    timed = run([sys.executable, "-m", "mmm_runner", f"hydra.run.dir={run_dir}", *overrides], env)
    if timed.returncode != 0:
        raise SystemExit(f"mmm_runner failed:\n{timed.stderr[-3000:]}")
    diagnostics = json.loads((run_dir / "diagnostics.json").read_text())
    return timed, diagnostics


def reference_script(python: str, script: str, *args: str) -> tuple[Timed, dict]:
    """Time one benchmarks/ reference script; its last stdout line is fit_summary's JSON."""
    timed = run([python, str(ROOT / "benchmarks" / script), *args])
    if timed.returncode != 0:
        raise SystemExit(f"{script} failed:\n{timed.stderr[-3000:]}")
    return timed, json.loads(timed.stdout.strip().splitlines()[-1])


def reference(decay: str = "0.5", k: str = "0.5") -> tuple[Timed, dict]:
    """(b): the default (learned) model's own PyMC graph under plain `pm.sample()`."""
    return reference_script(sys.executable, "reference_pymc_learned.py", decay, k)


def min_ess(d: dict) -> float:
    return min(d.get("min_ess_bulk", 0), d.get("min_ess_tail", 0))


def line(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    print(f"  {label:<58}{value:>22}  {target:<14}{verdict}")


def bench_cli() -> None:
    print("\n[1] responsiveness (no PyMC import)")
    for label, args in (
        ("--help", ["--help"]),
        ("config error (sampler.drawz=5)", ["sampler.drawz=5"]),
    ):
        times = [run([sys.executable, "-m", "mmm_runner", *args]).seconds for _ in range(3)]
        best = statistics.median(times)
        line(f"python -m mmm_runner {label}", f"{best:.2f} s", "< 1.5 s", best < 1.5)


def pymc_marketing_python(requested: str | None) -> str | None:
    """The interpreter that has pymc-marketing: the one asked for, else this one if it has it."""
    if requested:
        return requested
    return sys.executable if importlib.util.find_spec("pymc_marketing") else None


def bench_single(pmm_python: str | None) -> None:
    print("\n[2] single run on the sample, end to end (process wall time)")
    mmm("sampler=fast")  # warm the caches of both structures
    mmm("sampler=fast", "model=fixed")
    warm = [mmm("sampler=fast") for _ in range(3)]
    warm_s = statistics.median(t.seconds for t, _ in warm)
    warm_ess = min(min_ess(d) for _, d in warm)
    fixed = [mmm("sampler=fast", "model=fixed") for _ in range(3)]
    fixed_s = statistics.median(t.seconds for t, _ in fixed)
    cold_dir = tempfile.mkdtemp(prefix="bench_cold_cache_")
    cold_env = {"MMM_RUNNER_CACHE_DIR": cold_dir, "NUMBA_CACHE_DIR": "", "PYTENSOR_FLAGS": ""}
    cold, _ = mmm("sampler=fast", env={k: v for k, v in cold_env.items() if v})
    shutil.rmtree(cold_dir, ignore_errors=True)
    reference()  # warm PyTensor's cache for the reference
    refs = [reference() for _ in range(2)]
    ref_s = statistics.median(t.seconds for t, _ in refs)
    ref_ess = min(min_ess(d) for _, d in refs)
    line("(a) mmm_runner sampler=fast (500x4), model=default, warm",
         f"{warm_s:.2f} s  ESS {warm_ess:.0f}")  # fmt: skip
    line("(f) mmm_runner sampler=fast, model=fixed, warm", f"{fixed_s:.2f} s")
    line("(a) mmm_runner sampler=fast, cold caches", f"{cold.seconds:.2f} s")
    line("(b) same model, plain pm.sample() defaults, warm", f"{ref_s:.2f} s  ESS {ref_ess:.0f}")
    line("(a) / (f): learned default vs fixed", f"{warm_s / fixed_s:.2f}x", "<= 1.4x",
         warm_s / fixed_s <= 1.4)  # fmt: skip
    line("speed-up (a) vs (b)", f"{ref_s / warm_s:.1f}x (ESS {warm_ess:.0f} vs {ref_ess:.0f})")
    matched_s, matched_ess = warm_s, warm_ess
    if warm_ess < ref_ess:  # (a'): draw enough for the reference's ESS, then compare
        draws = 100 * math.ceil(5 * 1.15 * ref_ess / warm_ess)
        timed, diagnostics = mmm("sampler=fast", f"sampler.draws={draws}")
        matched_s, matched_ess = timed.seconds, min_ess(diagnostics)
        line(f"(a') sampler=fast, sampler.draws={draws}, warm",
             f"{matched_s:.2f} s  ESS {matched_ess:.0f}")  # fmt: skip
    line("speed-up vs (b) at equal or better min ESS",
         f"{ref_s / matched_s:.1f}x (ESS {matched_ess:.0f} vs {ref_ess:.0f})",
         ">= 2x", ref_s / matched_s >= 2 and matched_ess >= ref_ess)  # fmt: skip
    line("ESS per second (a) / (b)", f"{warm_ess / warm_s:.0f} / {ref_ess / ref_s:.0f}")
    line(
        "cold / warm (a)", f"{cold.seconds / warm_s:.2f}x", "<= 2.5x", cold.seconds / warm_s <= 2.5
    )
    line("peak RSS (a) / (b)", f"{warm[0][0].peak_mb:.0f} MB / {refs[0][0].peak_mb:.0f} MB")
    if pmm_python is None:
        print("  (c) PyMC-Marketing: not installed, skipped. Install the `bench` extra, or pass")
        print("      --pymc-marketing-python PATH to a Python that has pymc-marketing.")
        return
    first, _ = reference_script(pmm_python, "reference_pymc_marketing.py")  # fills its cache
    pmm, pmm_diag = reference_script(pmm_python, "reference_pymc_marketing.py")
    pmm_ess = min_ess(pmm_diag)
    line("(c) PyMC-Marketing MMM (500x2), warm", f"{pmm.seconds:.2f} s  ESS {pmm_ess:.0f}")
    line(
        "(c) PyMC-Marketing MMM, first run here (compiles unless cached)", f"{first.seconds:.2f} s"
    )
    line(
        "speed-up (a) fast vs (c), at equal or better min ESS",
        f"{pmm.seconds / warm_s:.1f}x (ESS {warm_ess:.0f} vs {pmm_ess:.0f})",
        ">= 10x",
        pmm.seconds / warm_s >= 10 and warm_ess >= pmm_ess,
    )
    line("(c) max R-hat", f"{pmm_diag['max_rhat']:.3f}")


def bench_sweep(quick: bool) -> None:
    print("\n[3] 20-configuration prior-centre grid: one multirun vs 20 separate reference runs")
    sweep_dir = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    grid_args = [f"{k}={','.join(v)}" for k, v in GRID.items()]
    timed = run([sys.executable, "-m", "mmm_runner", "-m", f"hydra.sweep.dir={sweep_dir}",
                 "sampler=fast", *grid_args])  # fmt: skip
    if timed.returncode != 0:
        raise SystemExit(timed.stderr[-3000:])
    jobs = sorted(p for p in sweep_dir.iterdir() if (p / "model_metadata.json").is_file())
    sampling = [json.loads((j / "model_metadata.json").read_text())["timings_seconds"]["sampling"]
                for j in jobs]  # fmt: skip
    pairs = [
        (d, k)
        for d in GRID["features.adstock.decay_default"]
        for k in GRID["features.saturation.K"]
    ]
    if quick:
        measured = [reference(d, k)[0].seconds for d, k in pairs[:3]]
        refs_total = statistics.mean(measured) * len(pairs)
        note = f" (3 measured, x{len(pairs)})"
    else:
        refs_total = sum(reference(d, k)[0].seconds for d, k in pairs)
        note = ""
    line(f"multirun of {len(jobs)} configurations (incl. leaderboard)", f"{timed.seconds:.1f} s")
    line(f"20 separate reference runs{note}", f"{refs_total:.1f} s")
    ratio = refs_total / timed.seconds
    line("speed-up", f"{ratio:.1f}x", ">= 10x", ratio >= 10)
    line("sampling per configuration (median / max)",
         f"{statistics.median(sampling):.2f} s / {max(sampling):.2f} s")  # fmt: skip
    line("per-configuration wall time", f"{timed.seconds / len(jobs):.2f} s")
    shutil.rmtree(sweep_dir, ignore_errors=True)


DATA_SCRIPT = """
import resource, sys, time
from pathlib import Path
from omegaconf import OmegaConf
from mmm_runner.config.schema import DatasetConfig, RunConfig
from mmm_runner.data.canonicalize import canonicalize
from mmm_runner.data.sql import SqlSession
from mmm_runner.data.validate import validate
from mmm_runner.model import periods_to_fit
cfg = OmegaConf.structured(RunConfig(dataset=DatasetConfig(
    name="big", path=sys.argv[1], drivers=["act_tv", "act_digital"], controls=["ctrl_price"])))
start = time.perf_counter()
session = SqlSession()
report = validate(session, Path(sys.argv[1]), cfg.dataset, periods_to_fit(cfg.model, cfg.features))
assert not report.errors, report.summary["errors"]
frame = canonicalize(session, report.plan)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def bench_data(rows: int) -> None:
    import duckdb

    print(f"\n[4] data layer: {rows:,} entity x week rows, validated + canonicalized + aggregated")
    folder = Path(tempfile.mkdtemp(prefix="bench_data_"))
    weeks = 200
    con = duckdb.connect()
    con.execute(
        """create table panel as
        select 'e' || lpad(e::varchar, 7, '0') as entity_id,
               strftime(date '2020-01-06' + (7 * w)::integer, '%Y-%m-%d') as period_start,
               1000 + (hash(e, w) % 1000) as sales,
               (hash(e, w, 1) % 5000)::double as act_tv,
               (hash(e, w, 2) % 3000)::double as act_digital,
               (hash(e, w, 3) % 500)::double / 10 as spend_tv,
               (hash(e, w, 4) % 300)::double / 10 as spend_digital,
               1 + (hash(e, w, 5) % 100)::double / 1000 as ctrl_price
        from range($1) r(e), range($2) s(w)""",
        [rows // weeks, weeks],
    )
    for fmt, target_s in (("csv", 6.0), ("parquet", 2.0)):
        path = folder / f"panel.{fmt}"
        con.execute(f"copy panel to '{path}' ({'header' if fmt == 'csv' else 'format parquet'})")
        timed = run([sys.executable, "-c", DATA_SCRIPT, str(path)])
        if timed.returncode != 0:
            raise SystemExit(timed.stderr[-3000:])
        seconds, peak_mb = map(float, timed.stdout.strip().splitlines()[-1].split())
        line(f"{fmt.upper()} ({path.stat().st_size / 1e6:.0f} MB): time in the data layer",
             f"{seconds:.2f} s", f"< {target_s:.0f} s", seconds < target_s)  # fmt: skip
        line(f"{fmt.upper()}: peak RSS", f"{peak_mb:.0f} MB", "< 2048 MB", peak_mb < 2048)
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter: extrapolate references")
    parser.add_argument("--rows", type=int, default=None, help="data-layer rows (10M default)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["cli", "single", "sweep", "data"])
    parser.add_argument(
        "--pymc-marketing-python",
        default=None,
        help="a Python with pymc-marketing for (c), e.g. a separate venv (default: this one)",
    )
    args = parser.parse_args()
    rows = args.rows or (1_000_000 if args.quick else 10_000_000)
    print(f"mmm_runner benchmark on {platform.node()}: {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.machine()}")  # fmt: skip
    if "cli" not in args.skip:
        bench_cli()
    if "single" not in args.skip:
        bench_single(pymc_marketing_python(args.pymc_marketing_python))
    if "sweep" not in args.skip:
        bench_sweep(args.quick)
    if "data" not in args.skip:
        bench_data(rows)


if __name__ == "__main__":
    main()
