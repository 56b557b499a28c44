"""`python -m mmm_runner.review <run_a> <run_b>`: what a config change did to the answer, as
Markdown for a pull-request comment.

Run A is the base (main's config), run B the change. The review states the config lines that
differ, whether the input data changed, convergence of both, ROAS per channel with the change
and whether the 94% intervals overlap, the ELPD-LOO difference with the SE of the pointwise
difference (same data only), and a one-line verdict. It exits 0 unless a `--fail-on` gate
trips, so CI can post the comment and still decide on its own whether to block the merge:

- `diverged`: either run failed or did not converge (R-hat, ESS or divergent transitions);
- `roas-shift>X`: some channel's ROAS posterior mean moved by more than X, relative to run A
  (`0.2` or `20%`).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmm_runner.errors import MMMError
from mmm_runner.report.config_diff import changes
from mmm_runner.report.labels import channel_labels, interval, num
from mmm_runner.store import Artifact, RunRecord, load_run
from mmm_runner.store.records import Interval

EXIT_GATE = 1  # a --fail-on condition held
EXIT_USAGE = 2  # bad arguments or unreadable runs (argparse's own code)
_SHIFT = re.compile(r"^roas-shift>(?P<x>[0-9]*\.?[0-9]+)(?P<pct>%?)$")


@dataclass(frozen=True)
class RoasChange:
    channel: str
    a: Interval | None
    b: Interval | None

    @property
    def relative(self) -> float | None:
        if self.a is None or self.b is None or self.a.mean == 0:
            return None
        return (self.b.mean - self.a.mean) / abs(self.a.mean)

    @property
    def overlap(self) -> bool | None:
        if self.a is None or self.b is None:
            return None
        return self.a.hdi_lower <= self.b.hdi_upper and self.b.hdi_lower <= self.a.hdi_upper


@dataclass(frozen=True)
class ElpdDifference:
    """B minus A; positive: B predicts held-out periods better."""

    diff: float
    se: float


def roas_changes(a: RunRecord, b: RunRecord) -> list[RoasChange]:
    ca = a.roi.channels if a.roi else {}
    cb = b.roi.channels if b.roi else {}
    names = list(dict.fromkeys([*ca, *cb]))
    return [
        RoasChange(n, ca[n].roas if n in ca else None, cb[n].roas if n in cb else None)
        for n in names
    ]


def same_data(a: RunRecord, b: RunRecord) -> bool:
    if a.manifest is None or b.manifest is None:
        return False
    return a.manifest.input_sha256 == b.manifest.input_sha256


def elpd_difference(a: RunRecord, b: RunRecord) -> ElpdDifference | None:
    """ELPD-LOO of B minus A and its SE (as arviz.compare); None unless on the same data."""
    if (
        a.loo is None
        or b.loo is None
        or not same_data(a, b)
        or len(a.loo.loo_i) != len(b.loo.loo_i)
    ):
        return None
    pointwise = b.loo.loo_i - a.loo.loo_i
    return ElpdDifference(
        b.loo.elpd_loo - a.loo.elpd_loo, math.sqrt(len(pointwise) * float(np.var(pointwise)))
    )


def diverged(record: RunRecord) -> str | None:
    """Why the run cannot be trusted, or None."""
    if record.status.failed:
        error = record.status.error
        return f"failed ({error.message.splitlines()[0] if error and error.message else 'ERROR'})"
    if record.diagnostics is None:
        return f"did not finish (stage {record.status.stage})"
    if not record.diagnostics.converged:
        return "did not converge (" + "; ".join(record.diagnostics.reasons) + ")"
    return None


def verdict(a: RunRecord, b: RunRecord, roas: list[RoasChange], elpd: ElpdDifference | None) -> str:
    problems = [f"run {n} {why}" for n, r in (("A", a), ("B", b)) if (why := diverged(r))]
    if problems:
        return (
            "**Not comparable yet:** " + "; ".join(problems) + ". Fix or rerun it (see "
            "Convergence below) before reading the numbers."
        )
    moved = [c.channel for c in roas if c.overlap is False]
    parts = [
        f"the 94% ROAS intervals of A and B no longer overlap for {', '.join(moved)}"
        if moved
        else "every channel's 94% ROAS interval overlaps the base's"
    ]
    if elpd is None:
        parts.append("ELPD not comparable (different data)")
    elif abs(elpd.diff) <= 2 * elpd.se:
        parts.append("the data cannot tell the two fits apart (ELPD within 2 SE)")
    else:
        better = "B (the change)" if elpd.diff > 0 else "A (the base)"
        parts.append(f"ELPD prefers {better} by {abs(elpd.diff):.1f} ± {elpd.se:.1f}")
    return "**Verdict:** " + "; ".join(parts) + "."


def _convergence_rows(a: RunRecord, b: RunRecord) -> list[str]:
    def cells(r: RunRecord) -> list[str]:
        d = r.diagnostics
        if d is None:
            return [str(r.status.stage), "-", "-", "-"]
        return [
            "yes" if d.converged else "**no**",
            num(d.max_rhat, 4),
            num(d.min_ess_bulk, 4),
            str(d.divergences),
        ]

    rows = ["| | A (base) | B (change) |", "|---|---|---|"]
    names = ["converged", "max R-hat", "min ESS bulk", "divergences"]
    for name, x, y in zip(names, cells(a), cells(b), strict=True):
        rows.append(f"| {name} | {x} | {y} |")
    return rows


def _roas_rows(roas: list[RoasChange]) -> list[str]:
    labels = channel_labels(c.channel for c in roas)
    rows = [
        "| channel | A ROAS [94% HDI] | B ROAS [94% HDI] | change | intervals overlap |",
        "|---|---:|---:|---:|---|",
    ]

    def show(i: Interval | None) -> str:
        return interval(i.mean, i.hdi_lower, i.hdi_upper) if i else "-"

    for c in roas:
        delta = "-"
        if c.a is not None and c.b is not None:
            rel = c.relative
            delta = f"{c.b.mean - c.a.mean:+.3f}" + (f" ({rel:+.1%})" if rel is not None else "")
        overlap = {True: "yes", False: "**no**", None: "-"}[c.overlap]
        name = _md(f"{labels[c.channel]} ({c.channel})")
        rows.append(f"| {name} | {show(c.a)} | {show(c.b)} | {delta} | {overlap} |")
    return rows


def _md(text: str) -> str:
    """User text in a Markdown table cell: no pipes, no HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _data_line(a: RunRecord, b: RunRecord) -> str:
    if a.manifest is None or b.manifest is None:
        return f"unknown (a run has no {Artifact.MANIFEST.filename})"
    ma, mb = a.manifest, b.manifest
    if ma.input_sha256 == mb.input_sha256:
        return f"unchanged: `{Path(mb.input_path).name}` (sha256 {mb.input_sha256[:12]})"
    return (
        f"**changed**: `{ma.input_path}` (sha256 {ma.input_sha256[:12]}) -> "
        f"`{mb.input_path}` (sha256 {mb.input_sha256[:12]})"
    )


def review_markdown(a: RunRecord, b: RunRecord) -> str:
    roas = roas_changes(a, b)
    elpd = elpd_difference(a, b)
    config = changes(a.config or {}, b.config or {})
    lines = [
        f"## mmm_runner review: `{a.run_dir.name}` (A, base) vs `{b.run_dir.name}` (B)",
        "",
        verdict(a, b, roas, elpd),
        "",
        "### Config lines that differ",
    ]
    lines += ["```diff", *(f"- {c.key}: {c.before}\n+ {c.key}: {c.after}" for c in config), "```"]
    if not config:
        lines[-2:] = ["(none: the composed configs are identical)"]
    lines += ["", f"**Input data:** {_data_line(a, b)}", "", "### Convergence"]
    lines += _convergence_rows(a, b)
    lines += ["", "### ROAS per channel", *_roas_rows(roas), "", "### ELPD-LOO (B - A)"]
    if a.loo and b.loo:
        lines.append(
            f"A {num(a.loo.elpd_loo, 5)} ± {num(a.loo.se, 3)}, "
            f"B {num(b.loo.elpd_loo, 5)} ± {num(b.loo.se, 3)}."
        )
    if elpd is not None:
        lines.append(
            f"Difference B - A: **{elpd.diff:+.1f} ± {elpd.se:.1f}** (SE of the "
            "pointwise difference; within 2 SE the data cannot tell them apart)."
        )
    else:
        lines.append(
            "Difference: not computed (the runs are not on the same data, or a run has no LOO)."
        )
    return "\n".join(lines) + "\n"


def gate(spec: str, a: RunRecord, b: RunRecord) -> str | None:
    """The reason `spec` fails the review, or None when it passes."""
    if spec == "diverged":
        why = [f"run {n} {w}" for n, r in (("A", a), ("B", b)) if (w := diverged(r))]
        return "; ".join(why) or None
    match = _SHIFT.match(spec)
    assert match, spec
    limit = float(match["x"]) / (100 if match["pct"] else 1)
    moved = [
        f"{c.channel} {c.relative:+.1%}"
        for c in roas_changes(a, b)
        if c.relative is not None and abs(c.relative) > limit
    ]
    return f"ROAS moved more than {limit:.0%}: {', '.join(moved)}" if moved else None


def fail_on(spec: str) -> str:
    if spec == "diverged" or _SHIFT.match(spec):
        return spec
    raise argparse.ArgumentTypeError(f"{spec!r}: expected `diverged` or `roas-shift>X` (0.2, 20%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmm_runner.review",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_a", type=Path, help="the base run (e.g. main's config)")
    parser.add_argument("run_b", type=Path, help="the changed run (e.g. the pull request's)")
    parser.add_argument("--out", type=Path, help="also write the Markdown to this file")
    parser.add_argument(
        "--fail-on",
        type=fail_on,
        action="append",
        default=[],
        metavar="COND",
        help="exit 1 when COND holds: `diverged` or `roas-shift>X` (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        a, b = load_run(args.run_a), load_run(args.run_b)
    except MMMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    markdown = review_markdown(a, b)
    print(markdown, end="")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown, encoding="utf-8")
    failures = [why for spec in args.fail_on if (why := gate(spec, a, b))]
    for why in failures:
        print(f"review: --fail-on: {why}", file=sys.stderr)
    return EXIT_GATE if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
