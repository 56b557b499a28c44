"""`python -m mmm_runner.compare <dir>`: (re)build the leaderboard of any folder of runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from mmm_runner.store import Artifact, SweepArtifact
from mmm_runner.sweep.leaderboard import build_leaderboard, to_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path, help="a sweep directory or any folder of runs")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        parser.error(f"{args.directory}: not a directory")
    table = build_leaderboard(args.directory)
    if table.empty:
        print(f"{args.directory}: no run directories ({Artifact.STATUS.filename}) found")
        return 1
    print(to_markdown(table))
    written = ", ".join(a.filename for a in SweepArtifact)
    print(f"wrote {written} in {args.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
