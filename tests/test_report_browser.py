"""The report in a real browser: headless Chromium renders every chart, logs nothing, loads nothing.

No browser driver: Chromium's own command line. `--dump-dom` runs a copy of the page with a
measuring script appended (the original forbids scripts), `--screenshot` photographs it, and
`--enable-logging=stderr` prints every console message, which for the original page must be
none: its Content-Security-Policy blocks any fetch loudly, so a remote reference would show.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mmm_runner.store import Artifact

BROWSER = next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="headless Chromium not found (Debian: apt-get install -y chromium; .ci/run does it)",
)
WIDTH = 1280
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--disable-extensions",
    "--no-first-run",
)
MEASURE = """<pre id="measurements"></pre><script>
const charts = [...document.querySelectorAll("figure.chart")].map(f => {
  const svg = f.querySelector("svg"); const r = svg ? svg.getBoundingClientRect() : null;
  return {id: f.id, expected: [+f.dataset.width, +f.dataset.height],
          box: r ? [r.left + scrollX, r.top + scrollY, r.width, r.height] : null,
          drawn: svg ? svg.querySelectorAll("path, use, text").length : 0};
});
document.getElementById("measurements").textContent = JSON.stringify(
  {charts, height: document.documentElement.scrollHeight,
   sections: [...document.querySelectorAll("section")].map(s => s.id)});
</script>"""
CONSOLE = re.compile(r":CONSOLE[(:]")


def chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BROWSER, *FLAGS, *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def console_messages(page: Path) -> list[str]:
    proc = chromium(
        "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri(), cwd=page.parent
    )
    assert "</html>" in proc.stdout, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if CONSOLE.search(line)]


def measure(report: Path, tmp_path: Path) -> tuple[dict, Path]:
    """Charts' rendered boxes, from a copy of the page that may run one script."""
    page = report.read_text()
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", MEASURE + "</body>"))
    proc = chromium(f"--window-size={WIDTH},1200", "--dump-dom", probe.as_uri(), cwd=tmp_path)
    found = re.search(r'<pre id="measurements">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    return json.loads(html.unescape(found.group(1))), probe


def screenshot(page: Path, out: Path, height: int) -> np.ndarray:
    from PIL import Image

    proc = chromium(
        f"--window-size={WIDTH},{height}", f"--screenshot={out}", page.as_uri(), cwd=out.parent
    )
    assert out.is_file(), proc.stderr[-2000:]
    return np.asarray(Image.open(out).convert("L"), dtype=float)


def test_console_capture_works(tmp_path: Path) -> None:
    """The check below is only worth something if a console message would be caught."""
    page = tmp_path / "control.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        'content="default-src \'none\'"></head><body><img src="http://example.invalid/x.png">'
        "</body></html>"
    )
    assert console_messages(page)


def test_report_opens_offline_with_no_console_message(sample_run: Path) -> None:
    assert console_messages(Artifact.REPORT.path(sample_run)) == []


def test_every_chart_renders_at_its_size(sample_run: Path, tmp_path: Path) -> None:
    shutil.copytree(sample_run, tmp_path / "run")
    report = Artifact.REPORT.path(tmp_path / "run")
    layout, probe = measure(report, tmp_path)
    assert {
        "fit",
        "decomposition",
        "roas",
        "response",
        "learned",
        "diagnostics",
        "data",
        "config",
    } <= set(layout["sections"])
    charts = layout["charts"]
    assert len(charts) == 5
    pixels = screenshot(probe, tmp_path / "report.png", layout["height"])
    assert pixels.shape == (layout["height"], WIDTH)
    for chart in charts:
        x, y, width, height = chart["box"]
        assert [round(width), round(height)] == chart["expected"], chart["id"]
        assert chart["drawn"] > 20, chart["id"]
        crop = pixels[int(y) : int(y + height), int(x) : int(x + width)]
        ink = float((crop < 200).mean())  # share of clearly non-white pixels
        assert 0.02 < ink < 0.6, (chart["id"], ink)  # drawn, and not a solid block
