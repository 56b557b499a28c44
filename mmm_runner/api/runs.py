"""The run queue: at most N worker processes at once, the rest waiting as CREATED.

Each run is one subprocess, `python -m mmm_runner.api.worker <overrides>`, which is
`python -m mmm_runner` with the same overrides in its own process group: the server never blocks
on sampling, a crash in a run cannot take the server down, and cancelling is killing the group.
One dispatcher thread starts workers, reaps them, and logs one line per state change it sees in
their status.json; everything else (submit, cancel) only edits the queue under `lock`.

A worker dies with the server (the worker asks the kernel for that: `worker.py`), and a server
starting on a storage root marks every run it finds live `ERROR` ("interrupted").
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mmm_runner.api.runspec import quote
from mmm_runner.api.storage import WORKER_LOG, Storage
from mmm_runner.config.api import API_KEY_ENV
from mmm_runner.store.layout import Artifact, read
from mmm_runner.store.records import Status
from mmm_runner.store.run_lock import lock_owner, process_alive
from mmm_runner.store.status import RunStatus

log = logging.getLogger("mmm_runner.api.runs")
FINAL = ("OUTPUTS_READY", "ERROR")
TERM_GRACE_SECONDS = 5.0
PARENT_ENV = "MMM_RUNNER_API_PARENT_PID"  # the worker checks it still has this parent
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
WORKER_MODULE = "mmm_runner.api.worker"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted: the API server stopped while this run was live"


@dataclass
class Job:
    run_id: str
    dataset_id: str
    run_dir: Path
    overrides: list[str]
    process: subprocess.Popen[bytes] | None = None
    stage: str | None = "CREATED"
    position: int | None = None
    logged: set[str] = field(default_factory=set)  # stages already logged
    log_handle: IO[bytes] | None = field(default=None, repr=False)


def worker_command(job: Job) -> list[str]:
    """The CLI's own entry point, pinned to the run directory the server chose."""
    run_dir = f"hydra.run.dir={quote(str(job.run_dir))}"
    return [sys.executable, "-m", WORKER_MODULE, run_dir, *job.overrides]


def read_status(run_dir: Path) -> Status | None:
    doc = read(run_dir, Artifact.STATUS)
    return Status.parse(doc) if isinstance(doc, dict) else None


class RunManager:
    def __init__(
        self,
        storage: Storage,
        max_concurrent: int,
        command: Callable[[Job], list[str]] = worker_command,
        poll_seconds: float = 0.2,
    ) -> None:
        self.storage = storage
        self.max_concurrent = max_concurrent
        self.command = command
        self.poll_seconds = poll_seconds
        self.lock = threading.RLock()
        self._wake = threading.Condition(self.lock)
        self._queue: deque[Job] = deque()
        self._running: dict[str, Job] = {}
        self._stopping = False
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="mmm-runner-runs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every live run (marked interrupted) and the dispatcher."""
        with self.lock:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=TERM_GRACE_SECONDS * 4)

    def recover(self) -> None:
        """Runs a stopped server left live are not running any more: say so in status.json."""
        for run_id in self.storage.run_ids():
            run_dir = self.storage.run_dir(run_id)
            status = read_status(run_dir)
            if status is None or status.stage in FINAL:
                continue
            owner = lock_owner(run_dir)
            if owner is not None and process_alive(owner):
                if not _is_our_worker(owner, run_dir):
                    continue  # a CLI run someone started into the storage root: not ours
                _kill_group(owner, signal.SIGKILL)
            RunStatus.load(run_dir).stopped(INTERRUPTED)
            log.info("run %s: ERROR (%s; was %s)", run_id, INTERRUPTED, status.stage)

    # ---- what routes call ---------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        with self.lock:
            self._queue.append(job)
            job.logged.add("CREATED")
            log.info("run %s: CREATED (dataset %s)", job.run_id, job.dataset_id)
            self._write_positions()
            self._wake.notify_all()

    def cancel(self, run_id: str) -> bool:
        """Stop a queued or running run (status ERROR "cancelled"); False if it is not live."""
        with self.lock:
            queued = next((j for j in self._queue if j.run_id == run_id), None)
            if queued is not None:
                self._queue.remove(queued)
                self._mark_stopped(queued, CANCELLED)
                self._write_positions()
                return True
            job = self._running.pop(run_id, None)
        if job is None:
            return False
        _terminate(job)
        stopped = self._mark_stopped(job, CANCELLED)
        with self.lock:
            self._wake.notify_all()  # a slot is free
        return stopped

    def live_runs_using(self, dataset_id: str) -> list[str]:
        with self.lock:
            jobs = [*self._running.values(), *self._queue]
            return sorted(j.run_id for j in jobs if j.dataset_id == dataset_id)

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return len(self._running), len(self._queue)

    # ---- the dispatcher thread ----------------------------------------------------------------
    def _loop(self) -> None:
        with self.lock:
            while not self._stopping:
                try:
                    self._reap()
                    self._watch()
                    self._fill()
                except Exception:  # one bad run directory must not stop every other run
                    log.exception("run dispatcher")
                self._wake.wait(self.poll_seconds)
            self._shutdown()

    def _fill(self) -> None:
        started = False
        while self._queue and len(self._running) < self.max_concurrent:
            job = self._queue.popleft()
            started = self._start(job) or started
        if started:
            self._write_positions()

    def _start(self, job: Job) -> bool:
        RunStatus.load(job.run_dir).queued(None, "starting a worker")
        env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
        env[PARENT_ENV] = str(os.getpid())
        if self.max_concurrent > 1:  # parallel runs share the cores: no BLAS oversubscription
            for variable in THREAD_VARIABLES:
                env.setdefault(variable, "1")
        try:
            job.log_handle = (job.run_dir / WORKER_LOG).open("ab")
            job.process = subprocess.Popen(
                self.command(job),
                stdin=subprocess.DEVNULL,
                stdout=job.log_handle,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: cancel kills all of it
            )
        except OSError as exc:
            _close(job)
            RunStatus.load(job.run_dir).stopped(f"could not start a worker: {exc}")
            log.error("run %s: ERROR (could not start a worker: %s)", job.run_id, exc)
            return False
        self._running[job.run_id] = job
        log.info("run %s: worker started (pid %d)", job.run_id, job.process.pid)
        return True

    def _watch(self) -> None:
        for job in self._running.values():
            self._watch_one(job)

    def _watch_one(self, job: Job) -> None:
        """One log line per stage a worker reached (read back from its status.json)."""
        status = read_status(job.run_dir)
        if status is not None:
            for stage in status.stages:
                if stage not in job.logged and stage not in FINAL:
                    job.logged.add(stage)
                    job.stage = stage
                    message = f" ({status.message})" if stage == status.stage else ""
                    log.info("run %s: %s%s", job.run_id, stage, message)

    def _reap(self) -> None:
        for run_id, job in list(self._running.items()):
            assert job.process is not None
            code = job.process.poll()
            if code is None:
                continue
            self._watch_one(job)
            del self._running[run_id]
            _close(job)
            status = read_status(job.run_dir)
            stage = status.stage if status else None
            if stage == "OUTPUTS_READY":
                log.info("run %s: OUTPUTS_READY", run_id)
            elif stage == "ERROR":
                log.info("run %s: ERROR (%s)", run_id, status.message if status else "")
            else:
                tail = _tail(job.run_dir / WORKER_LOG)
                last = tail.strip().splitlines()[-1] if tail.strip() else ""
                message = f"the worker exited with code {code} at stage {stage}"
                message += f": {last}" if last else ""
                RunStatus.load(job.run_dir).stopped(message, tail)
                log.warning("run %s: ERROR (%s)", run_id, message)

    def _shutdown(self) -> None:
        self._reap()  # runs that finished just now keep their status
        for job in list(self._running.values()):
            _terminate(job)
            self._mark_stopped(job, INTERRUPTED)
        for job in self._queue:
            self._mark_stopped(job, INTERRUPTED)
        self._running.clear()
        self._queue.clear()

    @staticmethod
    def _mark_stopped(job: Job, message: str) -> bool:
        """ERROR with `message`, unless the worker got to a final stage first."""
        status = read_status(job.run_dir)
        if status is not None and status.stage in FINAL:
            return False
        RunStatus.load(job.run_dir).stopped(message)
        log.info("run %s: ERROR (%s; was %s)", job.run_id, message, job.stage)
        return True

    def _write_positions(self) -> None:
        for position, job in enumerate(self._queue, start=1):
            if job.position != position:
                job.position = position
                ahead = "next to start" if position == 1 else f"{position - 1} run(s) ahead"
                RunStatus.load(job.run_dir).queued(position, f"queued: {ahead}")


def _terminate(job: Job) -> None:
    """SIGTERM to the worker's process group, SIGKILL after a grace period."""
    process = job.process
    if process is None:
        return
    _kill_group(process.pid, signal.SIGTERM)
    try:
        process.wait(TERM_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid, signal.SIGKILL)
        process.wait()
    _kill_group(process.pid, signal.SIGKILL)  # anything the worker itself started
    _close(job)


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _close(job: Job) -> None:
    if job.log_handle is not None:
        job.log_handle.close()
        job.log_handle = None


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _is_our_worker(pid: int, run_dir: Path) -> bool:
    """The process holding the run lock is a worker of this storage root (not a reused pid)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the lock file
    text = [a.decode(errors="replace") for a in argv]
    return WORKER_MODULE in text and any(str(run_dir) in a for a in text)
