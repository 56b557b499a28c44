"""The real server (`python -m mmm_runner.api`) on a free port, with real workers and sampling.

End to end: upload the sample, run it with `sampler=fast`, read every output, and get the same
ROI, to the byte, as `python -m mmm_runner` with the same settings. Killed mid-run: the next
server marks the run interrupted, and nothing else in the storage root changes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mmm_runner.store import Artifact
from mmm_runner.store.artifacts import sha256_file
from mmm_runner.store.run_lock import LOCK_NAME
from tests.conftest import ROOT, SAMPLE_CSV, run_cli

pytestmark = pytest.mark.slow
SAMPLE_SPEC = {  # what conf/dataset/sample.yaml says, as a run spec
    "dataset_id": "sample",
    "grain": "WEEK",
    "target_col": "sales",
    "drivers": ["act_tv", "act_digital", "act_radio"],
    "controls": ["ctrl_price"],
    "sampler": "fast",
}
OUTPUT_ROUTES = ("posterior_summary", "diagnostics", "contributions", "roi", "fitted", "summary",
                 "response_curves", "report")  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(storage: Path, log: Path) -> Iterator[tuple[subprocess.Popen, httpx.Client]]:
    """A server process on a free port, up and answering /health; stopped (SIGTERM) after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MMM_RUNNER_API_KEY"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mmm_runner.api", "--port", str(port),
             "--storage-root", str(storage), "--max-concurrent-runs", "1"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield process, client
    finally:
        client.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def upload_sample(client: httpx.Client) -> None:
    with SAMPLE_CSV.open("rb") as handle:
        response = client.post(
            "/datasets/upload", params={"dataset_id": "sample"},
            files={"file": ("mmm_sample_small.csv", handle, "text/csv")},
        )  # fmt: skip
    assert response.status_code == 201, response.text


def poll(client: httpx.Client, run_id: str, stages: tuple[str, ...], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/runs/{run_id}/status").json()
        if status["stage"] in stages:
            return status
        assert status["stage"] != "ERROR", status
        assert time.monotonic() < deadline, status
        time.sleep(0.5)


def test_end_to_end_matches_the_cli(tmp_path: Path) -> None:
    storage, log = tmp_path / "storage", tmp_path / "server.log"
    with server(storage, log) as (process, client):
        upload_sample(client)
        created = client.post("/runs/create", json=SAMPLE_SPEC)
        assert created.status_code == 202, created.text
        run_id = created.json()["run_id"]
        poll(client, run_id, ("OUTPUTS_READY",), timeout=900)
        outputs = {}
        for route in OUTPUT_ROUTES:
            response = client.get(f"/outputs/{run_id}/{route}")
            assert response.status_code == 200, (route, response.text)
            outputs[route] = response
        assert outputs["report"].headers["content-type"].startswith("text/html")
        optimized = client.post(f"/outputs/{run_id}/optimize", json={"budget_change": 0.1})
        assert optimized.status_code in (200, 501), optimized.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises it after shutdown
    server_log = log.read_text()
    assert "Application shutdown complete" in server_log
    assert f"run {run_id}: TRAINING" in server_log and f"run {run_id}: OUTPUTS_READY" in server_log
    assert f"GET /outputs/{run_id}/roi 200" in server_log

    cli = run_cli(tmp_path / "cli", "sampler=fast")  # dataset=sample, the same settings
    assert cli.returncode == 0, cli.stderr[-3000:]
    api_run = storage / "runs" / run_id
    assert outputs["roi"].json() == cli.json(Artifact.ROI.filename)
    assert (api_run / Artifact.ROI.filename).read_bytes() == (
        cli.run_dir / Artifact.ROI.filename
    ).read_bytes()
    # The same layout as a CLI run: the leaderboard reads REST runs as they are.
    compare = subprocess.run(
        [sys.executable, "-m", "mmm_runner.compare", str(storage / "runs")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert compare.returncode == 0, compare.stderr[-2000:]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))


def test_killed_server_marks_its_live_run_interrupted(tmp_path: Path, sample_run: Path) -> None:
    import shutil

    storage, log = tmp_path / "storage", tmp_path / "server.log"
    (storage / "runs").mkdir(parents=True)
    finished = storage / "runs" / "finished"
    shutil.copytree(sample_run, finished)
    manifest = json.loads((finished / Artifact.MANIFEST.filename).read_text())

    with server(storage, log) as (process, client):
        upload_sample(client)
        long_run = {"dataset_id": "sample", "draws": 200000, "tune": 2000, "chains": 2}
        run_id = client.post("/runs/create", json=long_run).json()["run_id"]
        poll(client, run_id, ("TRAINING",), timeout=300)
        worker = int((storage / "runs" / run_id / LOCK_NAME).read_text())
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    deadline = time.monotonic() + 20
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker), "the worker outlived its server"

    with server(storage, log) as (_, client):
        status = client.get(f"/runs/{run_id}/status").json()
        assert status["stage"] == "ERROR" and "interrupted" in status["message"]
        assert status["error"]["last_stage_reached"] == "TRAINING"
        assert client.get("/runs/finished/status").json()["stage"] == "OUTPUTS_READY"
        dataset = client.get("/datasets/sample").json()["dataset"]
        assert dataset["sha256"] == sha256_file(SAMPLE_CSV)
        assert client.get("/datasets/sample/raw").content == SAMPLE_CSV.read_bytes()
    for entry in manifest["artifacts"]:  # the finished run is byte for byte what it was
        assert sha256_file(finished / entry["path"]) == entry["sha256"], entry["path"]
