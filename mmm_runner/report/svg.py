"""Matplotlib figures as inline SVG: the report's style, sizes, margins and axis formats.

Offline by construction: text stays text (`svg.fonttype: none`, drawn in the browser's own
sans-serif), and the SVG prolog, metadata and namespace URLs are stripped so the page names no
remote resource. Ids inside each SVG are salted with the chart's id: several charts inline in
one page never share a clip path. matplotlib is imported on the first figure, not with the
package: `import mmm_runner` and the CLI's config errors stay light.

Margins are set in inches from what the axes will hold (tick label lengths), not by
matplotlib's constrained layout, which measures every text twice and doubled the report's time.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN = 8.5  # 816 CSS px: fits the page's 880 px column without scaling
DPI_CSS = 96  # CSS px per inch: an SVG of W pt is W * 96/72 px wide
PALETTE = (  # Okabe-Ito, readable for colour-blind readers
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
BASELINE_COLOUR = "#BBBBBB"
RC = {
    "svg.fonttype": "none",
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Helvetica", "Arial", "DejaVu Sans", "Liberation Sans"],
    "font.size": 9.0,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    # titles where matplotlib's automatic placement puts them on these charts (no top ticks or
    # offset text): it measured every tick label of each axes a second time to find that out
    "axes.titley": 1.0,
}
_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


@dataclass(frozen=True)
class Chart:
    """One rendered chart: its SVG markup and the size the page shows it at (CSS px)."""

    id: str
    title: str
    svg: str
    width_px: int
    height_px: int


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


CHAR_IN = 0.07  # width of an average 9 pt character, inches: to size margins from labels


@dataclass(frozen=True)
class Margins:
    """Space around and between the axes, inches."""

    left: float = 0.95
    right: float = 0.15
    top: float = 0.35
    bottom: float = 0.55
    wspace: float = 0.5
    hspace: float = 0.8


def label_width(labels: Sequence[str]) -> float:
    """Inches a column of tick labels needs."""
    return 0.25 + CHAR_IN * max((len(label) for label in labels), default=4)


def _adjust(fig: Figure, m: Margins, nrows: int, ncols: int) -> None:
    width, height = fig.get_size_inches()
    axes_w = (width - m.left - m.right - (ncols - 1) * m.wspace) / ncols
    axes_h = (height - m.top - m.bottom - (nrows - 1) * m.hspace) / nrows
    fig.subplots_adjust(
        left=m.left / width,
        right=1 - m.right / width,
        top=1 - m.top / height,
        bottom=m.bottom / height,
        wspace=m.wspace / axes_w,
        hspace=m.hspace / axes_h,
    )


@contextmanager
def figure(
    chart_id: str,
    height_in: float,
    nrows: int = 1,
    ncols: int = 1,
    margins: Margins | None = None,
) -> Iterator[tuple[Figure, Any]]:
    """A figure without pyplot (no global state, no GUI backend) under the report's style.

    One Axes for a 1x1 grid, else a flat array of them. Without `margins`, matplotlib's
    constrained layout places them (slower; for pages where speed does not matter).
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**RC, "svg.hashsalt": chart_id}):
        layout = None if margins else "constrained"
        fig = Figure(figsize=(WIDTH_IN, height_in), layout=layout)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        if margins:
            _adjust(fig, margins, nrows, ncols)
        yield fig, axes[0] if axes.size == 1 else axes


def render(fig: Figure, chart_id: str, title: str) -> Chart:
    """The figure as inline SVG markup, sized in CSS px."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({**RC, "svg.hashsalt": chart_id}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _XMLNS.sub("", _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1)))
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    width, height = fig.get_size_inches()
    return Chart(chart_id, title, svg, round(width * DPI_CSS), round(height * DPI_CSS))


def date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def thousands(axis: Any) -> None:
    """Tick labels as 120,000 rather than 120000 or 1.2e5."""
    from matplotlib.ticker import StrMethodFormatter

    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def compact(axis: Any) -> None:
    """Tick labels as 1.5M / 250k: spend axes of small panels stay legible."""
    from matplotlib.ticker import FuncFormatter

    def short(x: float, _pos: int) -> str:
        for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= size:
                return f"{x / size:.3g}{suffix}"
        return f"{x:.3g}"

    axis.set_major_formatter(FuncFormatter(short))


def legend_above(ax: Axes, ncols: int) -> None:
    """The legend on the title's line, right-aligned, clear of the data."""
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=ncols, borderaxespad=0.2)
