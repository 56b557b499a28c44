"""report.html: every §12 section, self-contained and escaped; `python -m mmm_runner.report`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mmm_runner.report.config_diff import Change, bundled_defaults, changes, flatten
from mmm_runner.report.labels import channel_label, channel_labels
from mmm_runner.report.page import SECTION_IDS, render_report, write_report
from mmm_runner.store import Artifact
from tests.conftest import ROOT, run_cli

MAX_BYTES = 3_000_000
CHART_IDS = ("chart-fit", "chart-decomposition", "chart-roas", "chart-response", "chart-learned")
# A reference the browser would load: src/href/xlink:href attributes, CSS url() and @import.
LOADS = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//)|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.I,
)


def section_ids(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', html)


def charts(html: str) -> dict[str, tuple[int, int, str]]:
    """Chart id -> (data-width, data-height, its <svg ...> element)."""
    found = {}
    pattern = (
        r'<figure class="chart" id="([^"]+)" data-width="(\d+)" data-height="(\d+)">'
        r"\s*(<svg.*?</svg>)"
    )
    for chart_id, width, height, svg in re.findall(pattern, html, re.S):
        found[chart_id] = (int(width), int(height), svg)
    return found


@pytest.fixture
def run_copy(sample_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(sample_run, target)
    return target


def test_a_run_writes_a_complete_self_contained_report(sample_run: Path) -> None:
    path = Artifact.REPORT.path(sample_run)
    html = path.read_text()
    assert path.stat().st_size < MAX_BYTES
    assert section_ids(html) == list(SECTION_IDS)
    assert '<header id="summary">' in html
    assert not LOADS.search(html), LOADS.search(html)
    assert "<script" not in html.lower()
    assert "http://" not in html and "https://" not in html
    # The header: dataset, structure, sampler, convergence badge, lines changed from defaults.
    facts = ("<dt>dataset</dt>", "<dt>structure</dt>", "<dt>sampler</dt>", "<dt>code</dt>")
    for fact in (*facts, 'class="badge'):
        assert fact in html, fact
    assert "sampler.draws: 1000 -&gt; 200" in html and "sampler.chains: 4 -&gt; 2" in html
    # Readable channel names, and the manifest checksums the report (written before it).
    assert ">TV<" in html and "Digital" in html
    manifest = (sample_run / Artifact.MANIFEST.filename).read_text()
    assert Artifact.REPORT.filename in manifest


def test_every_chart_is_an_inline_svg_of_its_stated_size(sample_run: Path) -> None:
    found = charts(Artifact.REPORT.path(sample_run).read_text())
    assert set(found) == set(CHART_IDS)
    for chart_id, (width, height, svg) in found.items():
        pt_w, pt_h = (
            float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
        )
        assert (round(pt_w * 4 / 3), round(pt_h * 4 / 3)) == (width, height), chart_id
        assert 600 <= width <= 880 and 150 <= height <= 900, chart_id
        assert svg.count("<path") > 10, chart_id  # something was drawn
        assert 'aria-label="' in svg and "<text" in svg, chart_id  # titles and labels as text
    # Axis labels carry units; ids are salted per chart, so no two charts share a clip path.
    html = Artifact.REPORT.path(sample_run).read_text()
    for label in (
        "sales per week",
        "sales returned per unit of spend",
        "spend over the period",
        "share of the channel's peak activity",
    ):
        assert label in html, label
    ids = re.findall(r'<clipPath id="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_report_renders_in_under_a_second(sample_run: Path) -> None:
    render_report(sample_run)  # pays matplotlib's import, as a run's process already has
    start = time.perf_counter()
    html = render_report(sample_run)
    seconds = time.perf_counter() - start
    print(f"report: {seconds:.2f} s, {len(html.encode()) / 1024:.0f} KB")
    assert seconds < 2.0  # about 0.5 s here; slack for a machine shared with other jobs


def test_response_curves_missing_says_not_available(run_copy: Path) -> None:
    Artifact.RESPONSE_CURVES.path(run_copy).unlink()
    html = render_report(run_copy)
    response = html.split('<section id="response">')[1].split("</section>")[0]
    assert "not available" in response and "<svg" not in response
    assert section_ids(html) == list(SECTION_IDS)


def test_response_curves_mark_the_current_spend(sample_run: Path) -> None:
    html = Artifact.REPORT.path(sample_run).read_text()
    response = html.split('<section id="response">')[1].split("</section>")[0]
    assert "current" in response and "marginal ROAS" in response


def test_user_text_is_escaped(run_copy: Path) -> None:
    config_path = Artifact.HYDRA_CONFIG.path(run_copy)
    config = yaml.safe_load(config_path.read_text())
    config["dataset"]["name"] = "<script>alert(1)</script>"
    config_path.write_text(yaml.safe_dump(config))
    html = render_report(run_copy)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cli_rebuilds_the_report(run_copy: Path) -> None:
    Artifact.REPORT.path(run_copy).unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "mmm_runner.report", str(run_copy)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"wrote {Artifact.REPORT.path(run_copy)}")
    assert section_ids(Artifact.REPORT.path(run_copy).read_text()) == list(SECTION_IDS)


def test_cli_names_a_path_that_is_not_a_run(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mmm_runner.report", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 1 and "not a run directory" in proc.stderr


def test_a_failed_run_still_gets_a_report(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    bad = tmp_path / "no_sales.csv"
    sample_frame.drop(columns=["sales"]).to_csv(bad, index=False)
    run = run_cli(tmp_path / "run", f"dataset.path={bad}")
    assert run.returncode != 0
    path, _ = write_report(run.run_dir)
    html = path.read_text()
    assert "FAILED" in html and section_ids(html) == list(SECTION_IDS)
    assert html.count("not available") >= 5


def test_config_diff_names_each_changed_line() -> None:
    before = {"model": {"gamma": {"params": {"sigma": 0.5}}}, "dataset": {"drivers": ["a"]}}
    after = {"model": {"gamma": {"params": {"sigma": 0.3}}}, "dataset": {"drivers": ["a", "b"]}}
    assert changes(before, after) == [
        Change("model.gamma.params.sigma", "0.5", "0.3"),
        Change("dataset.drivers", "[a]", "[a, b]"),
    ]
    assert changes(before, before) == []
    assert flatten({"a": {}, "b": {"c": None}}) == {"a": {}, "b.c": None}


def test_bundled_defaults_are_what_hydra_composes(tmp_path: Path) -> None:
    """The report's defaults, composed without Hydra, equal `python -m mmm_runner --cfg job`."""
    run = run_cli(tmp_path / "run", "--cfg", "job")
    assert run.returncode == 0, run.stderr
    assert changes(bundled_defaults(), yaml.safe_load(run.stdout)) == []


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("act_tv", "TV"),
        ("spend_paid_search", "Paid search"),
        ("act_channel0", "Channel0"),
        ("spend_x1", "X1"),
        ("act_ooh", "OOH"),
        ("newsletter", "Newsletter"),
    ],
)
def test_channel_labels_read_well(column: str, label: str) -> None:
    assert channel_label(column) == label


def test_channel_labels_never_collide() -> None:
    assert channel_labels(["act_tv", "spend_tv", "act_radio"]) == {
        "act_tv": "act_tv",
        "spend_tv": "spend_tv",
        "act_radio": "Radio",
    }


def test_a_report_that_fails_to_render_costs_a_warning_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmm_runner import pipeline
    from mmm_runner.report import page

    def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("boom")

    monkeypatch.setattr(page, "render_report", broken)
    said: list[str] = []
    ctx = pipeline.RunContext(cfg=None, run_dir=tmp_path, status=None, echo=said.append)
    pipeline._report(ctx)
    assert not Artifact.REPORT.path(tmp_path).exists() and ctx.written == []
    assert said == [
        f"warning: report.html not written (ValueError: boom); retry with "
        f"`python -m mmm_runner.report {tmp_path}`"
    ]
