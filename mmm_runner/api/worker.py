"""`python -m mmm_runner.api.worker <overrides>`: one REST run, exactly as the CLI runs it.

The server starts this per run. It first asks Linux to kill it when the server dies
(PR_SET_PDEATHSIG), so a killed server leaves no orphan sampling into a run directory that the
next server marks interrupted; then it hands its arguments to `python -m mmm_runner` in this
process. Same entry point, same overrides, same seed: the same numbers as the CLI.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1
PARENT_ENV = "MMM_RUNNER_API_PARENT_PID"  # set by mmm_runner.api.runs


def die_with_parent() -> None:
    """SIGKILL when the server's dispatcher thread ends; exit now if the server already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    expected = os.environ.get(PARENT_ENV)
    if expected and os.getppid() != int(expected):
        sys.exit("mmm_runner.api.worker: the server that started this run is gone")


def main() -> None:
    die_with_parent()
    sys.argv = ["mmm_runner", *sys.argv[1:]]
    runpy.run_module("mmm_runner", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
