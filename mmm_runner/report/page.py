"""`report.html`: one self-contained page per run, rendered from the run directory.

The page is built only from what the store reads back, so `python -m mmm_runner.report <dir>`
rebuilds it for any run, old or failed, and the pipeline writes it as its last artifact. The
jinja2 environment autoescapes: channel names, config values and error messages are user data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from mmm_runner.report import sections
from mmm_runner.report.config_diff import changes_from_defaults
from mmm_runner.report.content import RunFacts, Section
from mmm_runner.report.labels import num
from mmm_runner.store import Artifact, RunRecord, load_run, write

SECTIONS: tuple[Callable[[RunFacts], Section], ...] = (
    sections.fit_section,
    sections.decomposition_section,
    sections.roas_section,
    sections.response_section,
    sections.learned_section,
    sections.diagnostics_section,
    sections.data_section,
)
SECTION_IDS = (
    "fit",
    "decomposition",
    "roas",
    "response",
    "learned",
    "diagnostics",
    "data",
    "config",
)


@cache
def environment() -> Any:
    """The template environment (templates ship in the wheel as package data)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("mmm_runner.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("mmm_runner")
    except PackageNotFoundError:
        return "(source)"


def badge(record: RunRecord) -> dict[str, str]:
    """The convergence verdict in one word, and the sentence behind it."""
    status, diag = record.status, record.diagnostics
    if status.failed:
        message = status.error.message.splitlines()[0] if status.error else status.message
        return {"kind": "bad", "text": "FAILED", "detail": f"The run failed: {message}"}
    if diag is None:
        return {"kind": "warn", "text": str(status.stage), "detail": "The run has not finished."}
    rhat = f"max R-hat {num(diag.max_rhat, 4)}, min ESS {num(diag.min_ess_bulk, 4)}, "
    rhat += f"{diag.divergences} divergences"
    if diag.converged:
        return {"kind": "ok", "text": "converged", "detail": f"Converged: {rhat}."}
    reasons = "; ".join(diag.reasons)
    return {
        "kind": "bad",
        "text": "NOT CONVERGED",
        "detail": f"Not converged ({reasons}): the numbers below are not to be trusted yet. "
        "See Diagnostics.",
    }


def header_facts(facts: RunFacts, finishing: bool) -> list[tuple[str, str]]:
    """Dataset, channels, structure, sampler, run and code lines of the header."""
    record, meta = facts.record, facts.metadata
    config = record.config or {}
    dataset, sampler = config.get("dataset", {}), config.get("sampler", {})
    features = record.document(Artifact.FEATURE_METADATA) or {}
    span = ""
    if features:
        span = (
            f", {features.get('n_periods')} {facts.period}s {features.get('period_start')} to "
            f"{features.get('period_end')}"
        )
    path = (record.run_spec or {}).get("resolved_input_path") or dataset.get("path", "")
    timings = meta.get("timings_seconds") or {}
    sampled = f", sampled in {timings['sampling']:.1f} s" if "sampling" in timings else ""
    structure = meta.get("structure", config.get("model", {}).get("structure", "?"))
    status = record.status
    state = "finished" if status.finished or finishing else f"stopped at {status.stage}"
    rows = [
        ("dataset", f"{dataset.get('name', '?')} ({path}){span}"),
        ("channels", ", ".join(f"{facts.labels[c]} ({c})" for c in facts.channels) or "-"),
        ("structure", f"{structure}: {meta.get('model', '')}"),
        (
            "sampler",
            f"{meta.get('backend', sampler.get('backend', '?'))}, "
            f"{sampler.get('chains')} chains x {sampler.get('draws')} draws "
            f"({sampler.get('tune')} tuning), target_accept "
            f"{sampler.get('target_accept')}, seed {sampler.get('random_seed')}{sampled}",
        ),
        ("run", f"{record.run_dir.name}, {state} {str(status.updated_at or '')[:19]}"),
    ]
    git: dict[str, Any] = {}
    if record.manifest:
        git = {"commit": record.manifest.git_commit, "dirty": record.manifest.git_dirty}
    elif finishing:  # written by the run itself, just before its manifest: the same code
        from mmm_runner.store.manifest import git_state

        git = git_state()
    if git.get("commit"):
        dirty = " (uncommitted changes)" if git.get("dirty") else ""
        rows.append(("code", f"git {git['commit'][:12]}{dirty}"))
    return rows


def report_context(record: RunRecord, finishing: bool = False) -> dict[str, Any]:
    facts = RunFacts.of(record)
    changed = [c.line() for c in changes_from_defaults(record.config or {})]
    body = [build(facts) for build in SECTIONS]
    body.append(sections.config_section(facts, changed))
    dataset = (record.config or {}).get("dataset", {}).get("name", record.run_dir.name)
    return {
        "title": f"MMM report: {dataset}",
        "version": version(),
        "badge": badge(record),
        "facts": header_facts(facts, finishing),
        "changed": changed,
        "sections": body,
    }


def render_report(run_dir: Path | str, finishing: bool = False) -> str:
    """The report of `run_dir` as one HTML document.

    `finishing`: the run itself is writing it, its last step before the manifest (the pipeline).
    """
    context = report_context(load_run(run_dir), finishing)
    return str(environment().get_template("run.html.j2").render(**context))


def write_report(run_dir: Path | str) -> tuple[Path, float]:
    """Render and write `report.html` atomically; returns its path and the seconds it took."""
    start = time.perf_counter()
    html = render_report(run_dir)
    path = write(Path(run_dir), Artifact.REPORT, html)
    return path, time.perf_counter() - start
