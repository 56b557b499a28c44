"""Load on the REST API: 4 runs at once with a limit of 2, while 200 status polls and 20 uploads
hit the server in parallel.

    python benchmarks/api_load.py [--runs 4] [--limit 2] [--polls 200] [--uploads 20]
                                  [--threads 16] [override ...]

Starts `python -m mmm_runner.api` on a free port with a fresh storage root, uploads the sample,
submits the runs together (`sampler=fast`, one seed each), then fires the polls and uploads from
a thread pool while the runs sample. Checks every run reaches OUTPUTS_READY, no request fails,
and no more than `--limit` runs were ever live at once; prints latency percentiles.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "mmm_sample_small.csv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(call, *args, **kwargs) -> tuple[float, httpx.Response | Exception]:
    start = time.perf_counter()
    try:
        result: httpx.Response | Exception = call(*args, **kwargs)
    except Exception as exc:  # a failed request is a result to count, not a crash
        result = exc
    return time.perf_counter() - start, result


def upload(client: httpx.Client, dataset_id: str) -> httpx.Response:
    files = {"file": ("mmm_sample_small.csv", SAMPLE.read_bytes(), "text/csv")}
    return client.post("/datasets/upload", params={"dataset_id": dataset_id}, files=files)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q)) if values else float("nan")


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    live = peak = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--limit", type=int, default=2)
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("override", nargs="*", help="run overrides (Hydra syntax)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        log = Path(tmp) / "server.log"
        env = {k: v for k, v in os.environ.items() if k != "MMM_RUNNER_API_KEY"}
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "mmm_runner.api", "--port", str(port),
                 "--storage-root", str(Path(tmp) / "storage"),
                 "--max-concurrent-runs", str(args.limit), "--log-level", "warning"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        try:
            for _ in range(300):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert upload(client, "sample").status_code == 201
            start = time.perf_counter()
            with ThreadPoolExecutor(args.runs) as pool:
                specs = [
                    {"dataset_id": "sample", "sampler": "fast", "random_seed": seed,
                     "overrides": args.override}
                    for seed in range(1, args.runs + 1)
                ]  # fmt: skip
                created = list(
                    pool.map(lambda s: timed(client.post, "/runs/create", json=s), specs)
                )
            run_ids = [r.json()["run_id"] for _, r in created if isinstance(r, httpx.Response)]
            assert len(run_ids) == args.runs, created

            tasks = [("poll", run_ids[i % len(run_ids)]) for i in range(args.polls)]
            tasks += [("upload", f"load_{i:02d}") for i in range(args.uploads)]
            tasks = tasks[::2] + tasks[1::2]  # uploads spread among the polls

            def hit(task: tuple[str, str]) -> tuple[str, float, httpx.Response | Exception]:
                kind, target = task
                if kind == "poll":
                    return (kind, *timed(client.get, f"/runs/{target}/status"))
                return (kind, *timed(upload, client, target))

            with ThreadPoolExecutor(args.threads) as pool:
                results = list(pool.map(hit, tasks))
            burst = time.perf_counter() - start

            statuses = {}
            while True:
                statuses = {r: client.get(f"/runs/{r}/status").json() for r in run_ids}
                if all(s["stage"] in ("OUTPUTS_READY", "ERROR") for s in statuses.values()):
                    break
                time.sleep(1)
            total = time.perf_counter() - start
        finally:
            client.close()
            server.send_signal(signal.SIGTERM)
            server.wait(60)

    failed = [(k, r) for k, _, r in results if not (isinstance(r, httpx.Response) and r.is_success)]
    failed += [
        ("create", r) for _, r in created if not (isinstance(r, httpx.Response) and r.is_success)
    ]
    polls = [t for k, t, _ in results if k == "poll"]
    uploads = [t for k, t, _ in results if k == "upload"]
    positions = [
        r.json().get("queue_position") for k, _, r in results
        if k == "poll" and isinstance(r, httpx.Response) and r.is_success
    ]  # fmt: skip
    spans = [
        (datetime.fromisoformat(s["stages"]["CREATED"]), datetime.fromisoformat(s["updated_at"]))
        for s in statuses.values()
    ]
    ready = sum(s["stage"] == "OUTPUTS_READY" for s in statuses.values())
    peak = max_overlap(spans)
    lines = [
        f"runs: {args.runs} submitted at once, limit {args.limit}: {ready} of {args.runs} "
        f"OUTPUTS_READY, at most {peak} live at once, queue positions seen: "
        f"{sorted({p for p in positions if p is not None})}",
        f"requests: {len(results) + len(created)} ({args.polls} status polls, {args.uploads} "
        f"uploads, {args.runs} creates), failed: {len(failed)}",
        f"status polls: p50 {pct(polls, 50):.1f} ms, p95 {pct(polls, 95):.1f} ms, "
        f"max {pct(polls, 100):.1f} ms",
        f"uploads (63 KB, validated): p50 {pct(uploads, 50):.0f} ms, "
        f"p95 {pct(uploads, 95):.0f} ms, max {pct(uploads, 100):.0f} ms",
        f"polls and uploads done {burst:.1f} s after submitting; all runs done after {total:.1f} s",
    ]
    print("\n".join(lines))
    ok = ready == args.runs and not failed and peak <= args.limit
    print("PASS" if ok else f"FAIL {failed[:5]}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
