"""The REST API through FastAPI's TestClient: every route, its happy path and its refusals.

Runs here use stand-in workers (a few lines of Python that write status.json like the pipeline,
sleep, or crash), so queueing, cancelling and failure handling are tested without sampling; the
real worker and real sampling are tested in test_api_server.py. Output routes read a copy of the
session's finished `sample_run`.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mmm_runner.api.app import create_app
from mmm_runner.api.runs import Job, worker_command
from mmm_runner.config.api import ApiConfig
from mmm_runner.store import Artifact, read
from mmm_runner.store.status import RunStatus
from tests.conftest import SAMPLE_CSV

FAKE_WORKER = r"""
import sys, time
from pathlib import Path
from mmm_runner.store.status import RunStatus
run_dir, mode = Path(sys.argv[1]), sys.argv[2]
status = RunStatus(run_dir)
if mode == "finish":
    for stage in ("CREATED", "VALIDATED", "FEATURES_BUILT", "TRAINING", "TRAINED", "OUTPUTS_READY"):
        status.advance(stage, "stand-in")
elif mode == "sleep":
    status.advance("CREATED", "stand-in")
    status.advance("TRAINING", "stand-in")
    time.sleep(300)
elif mode == "crash":
    print("stand-in worker crashing", flush=True)
    sys.exit(3)
"""


def fake(mode: str) -> Callable[[Job], list[str]]:
    return lambda job: [sys.executable, "-c", FAKE_WORKER, str(job.run_dir), mode]


@contextmanager
def api(
    tmp_path: Path,
    worker: str | None = "finish",
    api_key: str | None = None,
    **settings: Any,
) -> Iterator[TestClient]:
    cfg = ApiConfig(storage_root=str(tmp_path / "storage"), **settings)
    command = worker_command if worker is None else fake(worker)
    with TestClient(create_app(cfg, api_key=api_key, command=command)) as client:
        yield client


def upload(client: TestClient, dataset_id: str = "sample", data: bytes | None = None,
           filename: str = "mmm_sample_small.csv", **headers: str) -> Any:  # fmt: skip
    body = SAMPLE_CSV.read_bytes() if data is None else data
    return client.post(
        "/datasets/upload",
        params={"dataset_id": dataset_id},
        files={"file": (filename, body, "text/csv")},
        headers=headers,
    )


def wait_for(client: TestClient, run_id: str, stages: tuple[str, ...], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/runs/{run_id}/status").json()
        if status["stage"] in stages or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def finished_run(client: TestClient, sample_run: Path, run_id: str = "finished") -> Path:
    """The session's finished sample run, copied into the server's storage root."""
    target = client.app.state.services.storage.run_dir(run_id)
    shutil.copytree(sample_run, target)
    return target


# ---- service ----------------------------------------------------------------------------------


def test_health_docs_and_openapi_schemas(tmp_path: Path) -> None:
    with api(tmp_path) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["max_concurrent_runs"] == 2
        assert client.get("/docs").status_code == 200
        spec = client.get("/openapi.json").json()
    for path in ("/datasets/upload", "/runs/create", "/runs/{run_id}/status",
                 "/outputs/{run_id}/roi", "/outputs/{run_id}/report",
                 "/outputs/{run_id}/optimize"):  # fmt: skip
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert {"RunSpec", "RunStatusResponse", "RoiResponse", "ValidationSummary", "ApiError"} <= set(
        schemas
    )
    assert "drivers" in schemas["RunSpec"]["properties"]
    upload_body = spec["paths"]["/datasets/upload"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload_body


def test_api_key_guards_every_route_but_health(tmp_path: Path) -> None:
    with api(tmp_path, api_key="s3cret") as client:
        assert client.get("/health").status_code == 200
        for method, path in [("get", "/datasets"), ("get", "/runs"), ("get", "/outputs/x/roi"),
                             ("post", "/runs/create"), ("delete", "/datasets/x")]:  # fmt: skip
            response = getattr(client, method)(path)
            assert response.status_code == 401, path
            assert "API key" in response.json()["detail"]
        bad = client.get("/runs", headers={"Authorization": "Bearer wrong"})
        assert bad.status_code == 401
        good = client.get("/runs", headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 200
        assert upload(client, Authorization="Bearer s3cret").status_code == 201


def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    with api(tmp_path) as client:
        ok = client.options(
            "/runs/create", headers={"Origin": "http://localhost:5173", **preflight}
        )
        assert ok.headers.get("access-control-allow-origin") == "http://localhost:5173"
        evil = client.options(
            "/runs/create", headers={"Origin": "http://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in evil.headers


# ---- datasets ---------------------------------------------------------------------------------


def test_dataset_upload_and_read_routes(tmp_path: Path) -> None:
    with api(tmp_path) as client:
        created = upload(client)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["validation"]["passed"] is True and body["validation"]["n_periods"] == 156
        assert body["dataset"]["grain"] == "WEEK" and body["dataset"]["format"] == "csv"
        assert [d["dataset_id"] for d in client.get("/datasets").json()["datasets"]] == ["sample"]
        detail = client.get("/datasets/sample").json()
        assert detail["validation"]["columns"]["drivers"] == ["act_tv", "act_digital", "act_radio"]
        raw = client.get("/datasets/sample/raw")
        assert raw.content == SAMPLE_CSV.read_bytes()
        assert raw.headers["content-type"].startswith("text/csv")
        roles = {
            c["name"]: c["role"] for c in client.get("/datasets/sample/columns").json()["columns"]
        }
        assert roles["sales"] == "target" and roles["spend_tv"] == "spend"
        assert roles["ctrl_price"] == "control"
        again = upload(client)
        assert again.status_code == 409 and "exists" in again.json()["detail"]
        assert client.delete("/datasets/sample").json()["deleted"] is True
        assert client.get("/datasets").json()["datasets"] == []


def test_parquet_upload(tmp_path: Path, sample_frame: Any) -> None:
    import pandas as pd

    path = tmp_path / "sample.parquet"
    pd.read_csv(SAMPLE_CSV).to_parquet(path, index=False)
    with api(tmp_path) as client:
        response = upload(client, "pq", path.read_bytes(), filename="panel.parquet")
        assert response.status_code == 201, response.text
        assert response.json()["dataset"]["format"] == "parquet"


def test_bad_csv_is_422_with_the_validation_summary(tmp_path: Path) -> None:
    text = SAMPLE_CSV.read_text().splitlines()
    text[5] = text[5].replace("store_", "store_", 1).rsplit(",", 1)[0] + ",not_a_number"
    with api(tmp_path) as client:
        response = upload(client, "broken", "\n".join(text).encode())
        assert response.status_code == 422
        body = response.json()
        assert "ctrl_price" in body["detail"]
        summary = body["validation_summary"]
        assert summary["passed"] is False
        failed = [c["name"] for c in summary["checks"] if not c["passed"]]
        assert "non_numeric_values" in failed
        assert client.get("/datasets").json()["datasets"] == []  # nothing stored


def test_oversize_upload_is_413_and_leaves_nothing(tmp_path: Path) -> None:
    with api(tmp_path, max_upload_mb=0.01) as client:  # 10 KiB; the sample is 63 KB
        response = upload(client)
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]
        storage = client.app.state.services.storage
        assert not any(storage.tmp.iterdir()) and storage.dataset_ids() == []


def test_upload_refusals(tmp_path: Path) -> None:
    with api(tmp_path) as client:
        bad_id = upload(client, "../../etc")
        assert bad_id.status_code == 422 and "dataset_id" in bad_id.json()["detail"]
        wrong_type = upload(client, "x", b"a,b\n", filename="data.xlsx")
        assert wrong_type.status_code == 415 and ".csv" in wrong_type.json()["detail"]
        no_file = client.post("/datasets/upload", params={"dataset_id": "x"}, data={"a": "1"},
                              files={"other": ("x.csv", b"1")})  # fmt: skip
        assert no_file.status_code == 422 and "file" in no_file.json()["detail"]
        raw_body = client.post("/datasets/upload?dataset_id=x", content=b"entity_id,period_start")
        assert raw_body.status_code == 415


def test_delete_dataset_in_use_is_409(tmp_path: Path) -> None:
    with api(tmp_path, worker="sleep", max_concurrent_runs=1) as client:
        upload(client)
        run_id = client.post("/runs/create", json={"dataset_id": "sample"}).json()["run_id"]
        refused = client.delete("/datasets/sample")
        assert refused.status_code == 409 and run_id in refused.json()["detail"]
        assert client.get("/datasets/sample").json()["dataset"]["in_use_by"] == [run_id]
        client.delete(f"/runs/{run_id}")
        assert client.delete("/datasets/sample").status_code == 200


# ---- ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/runs/..%2F..%2Fetc/status"),
        ("get", "/runs/..%2F..%2Fetc/spec"),
        ("delete", "/runs/..%2F..%2Fetc"),
        ("get", "/datasets/..%2F..%2Fetc"),
        ("get", "/datasets/..%2F..%2Fetc/raw"),
        ("delete", "/datasets/..%2F..%2Fetc"),
        ("get", "/outputs/..%2F..%2Fetc/roi"),
        ("get", "/outputs/etc.passwd/report"),
    ],
)
def test_bad_id_is_422_naming_it(tmp_path: Path, method: str, path: str) -> None:
    with api(tmp_path) as client:
        response = getattr(client, method)(path)
    assert response.status_code == 422, response.text
    assert "_id" in response.json()["detail"]


def test_unknown_ids_are_404(tmp_path: Path) -> None:
    with api(tmp_path) as client:
        for method, path in [
            ("get", "/runs/nope/status"), ("get", "/runs/nope/spec"), ("delete", "/runs/nope"),
            ("get", "/datasets/nope"), ("get", "/datasets/nope/raw"),
            ("get", "/datasets/nope/columns"), ("delete", "/datasets/nope"),
            ("get", "/outputs/nope/roi"), ("get", "/outputs/nope/summary"),
            ("get", "/outputs/nope/report"), ("get", "/outputs/nope/response_curves"),
        ]:  # fmt: skip
            response = getattr(client, method)(path)
            assert response.status_code == 404, path
            assert "nope" in response.json()["detail"]
        unknown = client.post("/runs/create", json={"dataset_id": "nope"})
        assert unknown.status_code == 404 and "dataset" in unknown.json()["detail"]
        optimize = client.post("/outputs/nope/optimize", json={})
        assert optimize.status_code == 404


# ---- runs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec,named",
    [
        ({"drawz": 5}, "drawz"),
        ({"feature_config": {"adstock": {"decay_defualt": 0.5}}}, "decay_defualt"),
        ({"overrides": ["sampler.drawz=5"]}, "drawz"),
        ({"draws": 0}, "sampler.draws"),
        ({"draws": "many"}, "draws"),
        ({"model": "nope"}, "model/nope"),
        ({"calibration": "nope"}, "calibration/nope"),
        ({"overrides": ["calibration.entries=[]"]}, "calibration.entries"),
        ({"overrides": ["hydra.run.dir=/tmp/elsewhere"]}, "hydra.run.dir"),
        ({"overrides": ["dataset.path=/etc/passwd"]}, "dataset.path"),
        ({"overrides": ["sampler.cache_dir=/tmp"]}, "sampler.cache_dir"),
        ({"target_col": "${oc.env:HOME}"}, "target_col"),
        ({"dataset_id": "../../etc"}, "dataset_id"),
    ],
)
def test_bad_run_spec_is_422_naming_the_key(tmp_path: Path, spec: dict, named: str) -> None:
    with api(tmp_path) as client:
        upload(client)
        response = client.post("/runs/create", json={"dataset_id": "sample", **spec})
        assert response.status_code == 422, response.text
        assert named in response.json()["detail"]
        assert "Traceback" not in response.text
        assert client.get("/runs").json()["runs"] == []  # nothing queued


def test_a_calibration_preset_is_a_group_option(tmp_path: Path) -> None:
    with api(tmp_path, worker="sleep") as client:
        upload(client)
        created = client.post(
            "/runs/create", json={"dataset_id": "sample", "calibration": "example"}
        )
        assert created.status_code == 202, created.text
        assert "calibration=example" in created.json()["overrides"]


def test_run_lifecycle_status_spec_and_list(tmp_path: Path) -> None:
    spec = {"dataset_id": "sample", "sampler": "fast", "random_seed": 7, "grain": "WEEK",
            "drivers": ["act_tv", "act_radio"], "controls": [],
            "feature_config": {"adstock": {"per_channel": {"act_tv": 0.7}}},
            "overrides": ["model.decay.concentration=4"]}  # fmt: skip
    with api(tmp_path) as client:
        upload(client)
        created = client.post("/runs/create", json=spec)
        assert created.status_code == 202, created.text
        run_id = created.json()["run_id"]
        overrides = created.json()["overrides"]
        assert "sampler=fast" in overrides and "sampler.random_seed=7" in overrides
        assert "dataset.drivers=['act_tv','act_radio']" in overrides
        assert "features.adstock.per_channel.act_tv=0.7" in overrides
        assert overrides[-1] == "model.decay.concentration=4"
        status = wait_for(client, run_id, ("OUTPUTS_READY", "ERROR"))
        assert status["stage"] == "OUTPUTS_READY", status
        assert list(status["stages"])[-1] == "OUTPUTS_READY"
        stored = client.get(f"/runs/{run_id}/spec").json()
        assert stored["spec"]["drivers"] == ["act_tv", "act_radio"]
        assert stored["overrides"] == overrides
        listed = client.get("/runs").json()["runs"]
        assert [(r["run_id"], r["dataset_id"], r["stage"]) for r in listed] == [
            (run_id, "sample", "OUTPUTS_READY")
        ]
        deleted = client.delete(f"/runs/{run_id}").json()
        assert deleted == {**deleted, "deleted": True, "cancelled": False}
        assert client.get(f"/runs/{run_id}/status").status_code == 404


def test_queue_positions_and_cancelling(tmp_path: Path) -> None:
    with api(tmp_path, worker="sleep", max_concurrent_runs=1) as client:
        upload(client)
        first, second, third = (
            client.post("/runs/create", json={"dataset_id": "sample"}).json()["run_id"]
            for _ in range(3)
        )
        assert wait_for(client, first, ("TRAINING",))["stage"] == "TRAINING"
        waiting = client.get(f"/runs/{third}/status").json()
        assert (waiting["stage"], waiting["queue_position"]) == ("CREATED", 2)
        storage = client.app.state.services.storage
        assert read(storage.run_dir(second), Artifact.STATUS)["queue_position"] == 1
        assert client.get("/health").json()["runs_queued"] == 2

        queued = client.delete(f"/runs/{second}").json()  # cancel a queued run
        assert queued["cancelled"] and queued["status"]["stage"] == "ERROR"
        assert queued["status"]["error"]["message"] == "cancelled"
        assert client.get(f"/runs/{third}/status").json()["queue_position"] == 1

        manager = client.app.state.services.runs
        process = manager._running[first].process
        running = client.delete(f"/runs/{first}").json()  # cancel the running one
        assert running["cancelled"] and running["status"]["error"]["message"] == "cancelled"
        assert running["status"]["error"]["last_stage_reached"] == "TRAINING"
        assert process.poll() is not None  # the worker is gone
        assert not storage.run_dir(first).exists()
        assert wait_for(client, third, ("TRAINING",))["stage"] == "TRAINING"  # its turn


def test_crashed_worker_is_error_and_no_traceback_over_http(tmp_path: Path) -> None:
    with api(tmp_path, worker="crash") as client:
        upload(client)
        run_id = client.post("/runs/create", json={"dataset_id": "sample"}).json()["run_id"]
        status = wait_for(client, run_id, ("ERROR",))
        assert status["stage"] == "ERROR" and "exited with code 3" in status["message"]
        assert "traceback" not in json.dumps(status).lower()
        on_disk = read(client.app.state.services.storage.run_dir(run_id), Artifact.STATUS)
        assert "stand-in worker crashing" in on_disk["error"]["traceback"]


def test_live_runs_of_a_stopped_server_are_interrupted(tmp_path: Path, sample_run: Path) -> None:
    with api(tmp_path) as client:
        finished = finished_run(client, sample_run)
        storage = client.app.state.services.storage
    live = storage.run_dir("was_training")
    live.mkdir()
    status = RunStatus(live)
    status.advance("CREATED")
    status.advance("TRAINING")
    before = (finished / Artifact.ROI.filename).read_bytes()
    with api(tmp_path) as client:
        after = client.get("/runs/was_training/status").json()
        assert after["stage"] == "ERROR" and "interrupted" in after["message"]
        assert after["error"]["last_stage_reached"] == "TRAINING"
        assert client.get("/runs/finished/status").json()["stage"] == "OUTPUTS_READY"
    assert (finished / Artifact.ROI.filename).read_bytes() == before


def test_one_server_per_storage_root(tmp_path: Path) -> None:
    from mmm_runner.api.storage import StorageInUse

    with api(tmp_path), pytest.raises(StorageInUse), api(tmp_path):
        pass


# ---- outputs ----------------------------------------------------------------------------------


def test_output_routes_of_a_finished_run(tmp_path: Path, sample_run: Path) -> None:
    with api(tmp_path) as client:
        run_dir = finished_run(client, sample_run)
        roi = client.get("/outputs/finished/roi").json()
        assert roi == read(run_dir, Artifact.ROI)
        summary = client.get("/outputs/finished/summary").json()
        assert (
            summary["channels"]["act_tv"]["roas"]["mean"]
            == roi["channels"]["act_tv"]["roas"]["mean"]
        )
        assert summary["elpd_loo"] is not None and summary["stage"] == "OUTPUTS_READY"
        diagnostics = client.get("/outputs/finished/diagnostics").json()
        assert diagnostics["converged"] == read(run_dir, Artifact.DIAGNOSTICS)["converged"]
        posterior = client.get("/outputs/finished/posterior_summary").json()
        assert "intercept" in posterior["parameters"]
        contributions = client.get("/outputs/finished/contributions").json()
        assert len(contributions["rows"]) == 156 and "act_tv" in contributions["columns"]
        assert contributions["rows"][0]["period_start"] == "2022-01-03"
        assert contributions["summary"]["n_periods"] == 156
        fitted = client.get("/outputs/finished/fitted").json()
        assert len(fitted["rows"]) == 156 and fitted["fit_metrics"]["n_periods"] == 156
        if (run_dir / Artifact.RESPONSE_CURVES.filename).exists():
            curves = client.get("/outputs/finished/response_curves").json()
            assert curves["rows"] and "channel" in curves["columns"]
        if (run_dir / Artifact.REPORT.filename).exists():
            report = client.get("/outputs/finished/report")
            assert report.headers["content-type"].startswith("text/html")
            assert report.text == (run_dir / Artifact.REPORT.filename).read_text()


def test_optimize_route(tmp_path: Path, sample_run: Path) -> None:
    with api(tmp_path) as client:
        run_dir = finished_run(client, sample_run)
        typo = client.post("/outputs/finished/optimize", json={"budgt": 1})
        assert typo.status_code == 422 and "budgt" in typo.json()["detail"]
        response = client.post("/outputs/finished/optimize", json={"budget_change": 0.1})
        if response.status_code == 501:
            pytest.skip(response.json()["detail"])
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["settings"]["budget_change"] == 0.1
        assert (run_dir / "optimizations" / doc["name"]).is_dir()
        bad = client.post("/outputs/finished/optimize", json={"bounds": [2, 1]})
        assert bad.status_code == 422 and "optimizer.bounds" in bad.json()["detail"]


def test_outputs_a_run_has_not_written_are_404(tmp_path: Path) -> None:
    with api(tmp_path) as client:
        run_dir = client.app.state.services.storage.run_dir("early")
        run_dir.mkdir()
        RunStatus(run_dir).advance("CREATED")
        for route in ("roi", "diagnostics", "contributions", "fitted", "response_curves", "report"):
            response = client.get(f"/outputs/early/{route}")
            assert response.status_code == 404, route
            assert "stage CREATED" in response.json()["detail"]
        not_ready = client.post("/outputs/early/optimize", json={})
        assert not_ready.status_code == 409


def test_damaged_artifact_is_409_and_a_bug_is_500_without_traceback(
    tmp_path: Path, sample_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = ApiConfig(storage_root=str(tmp_path / "storage"))
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        run_dir = finished_run(client, sample_run)
        (run_dir / Artifact.ROI.filename).write_text("{not json")
        damaged = client.get("/outputs/finished/roi")
        assert damaged.status_code == 409 and "unreadable" in damaged.json()["detail"]

        def boom(*_: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr("mmm_runner.api.outputs.as_table", boom)
        bug = client.get("/outputs/finished/fitted")
        assert bug.status_code == 500
        assert bug.json() == {"detail": "internal error: RuntimeError: boom"}


# ---- settings ---------------------------------------------------------------------------------


def test_settings_layers_env_and_flags(tmp_path: Path) -> None:
    from mmm_runner.api.settings import load_settings
    from mmm_runner.errors import ConfigError

    defaults = load_settings([], environ={})
    assert (defaults.host, defaults.port, defaults.max_concurrent_runs) == ("127.0.0.1", 8000, 2)
    assert "http://localhost:5173" in defaults.allowed_origins
    user = tmp_path / "conf" / "api"
    user.mkdir(parents=True)
    (user / "default.yaml").write_text("port: 9000\nmax_upload_mb: 5\n")
    environ = {
        "MMM_RUNNER_CONF_DIR": str(tmp_path / "conf"),
        "MMM_RUNNER_API_PORT": "9100",
        "MMM_RUNNER_API_ALLOWED_ORIGINS": "http://a.test, http://b.test",
    }
    layered = load_settings(["--max-concurrent-runs", "3"], environ=environ)
    assert (layered.port, layered.max_upload_mb, layered.max_concurrent_runs) == (9100, 5.0, 3)
    assert layered.allowed_origins == ["http://a.test", "http://b.test"]
    assert load_settings(["--port", "9200"], environ=environ).port == 9200
    with pytest.raises(ConfigError, match="port"):
        load_settings(["--port", "many"], environ={})
    with pytest.raises(ConfigError, match="max_concurrent_runs"):
        load_settings(["--max-concurrent-runs", "0"], environ={})
    (user / "default.yaml").write_text("prot: 9000\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings([], environ=environ)


def test_help_lists_every_setting() -> None:
    import subprocess

    from mmm_runner.config.api import setting_names
    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "mmm_runner.api", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0
    for name in setting_names():
        assert f"--{name.replace('_', '-')}" in done.stdout
        assert f"MMM_RUNNER_API_{name.upper()}" in done.stdout
    assert "MMM_RUNNER_API_KEY" in done.stdout


@pytest.mark.parametrize("value", ["a", "a'b", "a\\", "a\\'b", "C:\\x\\", "x y,z=[1]", "%Y-%m-%d"])
def test_client_strings_reach_hydra_unchanged(value: str) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from mmm_runner.api.runspec import quote

    assert OverridesParser.create().parse_override(f"k={quote(value)}").value() == value
