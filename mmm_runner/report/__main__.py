"""`python -m mmm_runner.report <run_dir>`: (re)build a run's report.html."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmm_runner.errors import MMMError
from mmm_runner.store import Artifact


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmm_runner.report",
        description="Write report.html into a run directory: fit, decomposition, ROAS, response "
        "curves, learned transforms, diagnostics, data checks and config, in one offline page.",
    )
    parser.add_argument("run_dir", type=Path, help="a run directory (holds status.json)")
    args = parser.parse_args(argv)
    from mmm_runner.report.page import write_report

    try:
        path, seconds = write_report(args.run_dir)
    except MMMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1024:.0f} KB in {seconds:.2f} s)")
    if not Artifact.MANIFEST.path(args.run_dir).is_file():
        print("note: the run did not finish; sections without their artifacts say so")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
