"""The run report's charts, one function each, from artifacts to an inline-SVG `Chart`.

Every chart has a title, axis labels with units and channels under readable labels; colours
follow the channel order, so a channel keeps its colour from chart to chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmm_runner.report import svg
from mmm_runner.report.svg import BASELINE_COLOUR, Chart, Margins, colour, figure, render

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SUPTITLE = {"x": 0.01, "ha": "left", "fontweight": "bold", "fontsize": 10.5}
PANEL_TITLE = {"loc": "left", "fontsize": 9.5}


def fit_chart(fitted: pd.DataFrame, target_label: str, period: str) -> Chart:
    """Actual against the posterior predictive mean and 94% band; the holdout shaded."""
    title = "Fit: actual against predicted"
    with figure("chart-fit", 3.2, margins=Margins(top=0.4)) as (fig, ax):
        dates = pd.to_datetime(fitted["period_start"])
        ax.fill_between(
            dates,
            fitted["predicted_lower"],
            fitted["predicted_upper"],
            color=colour(0),
            alpha=0.22,
            linewidth=0,
            label="94% interval",
        )
        ax.plot(dates, fitted["predicted_mean"], color=colour(0), linewidth=1.4, label="predicted")
        ax.plot(
            dates,
            fitted["actual"],
            color="#222222",
            linewidth=0.9,
            marker="o",
            markersize=2.0,
            label="actual",
        )
        holdout = dates[fitted["split"] == "holdout"] if "split" in fitted else dates[:0]
        if len(holdout):
            ax.axvspan(
                holdout.min(),
                holdout.max(),
                color="#F4D9A6",
                alpha=0.55,
                linewidth=0,
                label="holdout (not fitted)",
            )
        ax.set_title(title, loc="left")
        ax.set_ylabel(f"{target_label} per {period}")
        ax.set_xlabel(f"{period} starting")
        svg.date_axis(ax)
        svg.thousands(ax.yaxis)
        svg.legend_above(ax, 4)
        return render(fig, "chart-fit", title)


def decomposition_chart(
    contributions: pd.DataFrame,
    channels: Sequence[str],
    labels: dict[str, str],
    target_label: str,
    period: str,
) -> Chart:
    """Baseline and each channel's contribution stacked over time, actuals on top."""
    title = "Decomposition: what made each period's sales"
    names = ["baseline", *(labels[c] for c in channels)]
    ncols = min(8, len(names) + 1)
    legend_rows = math.ceil((len(names) + 1) / ncols)
    margins = Margins(bottom=0.75 + 0.2 * legend_rows)
    height = 3.6 + 0.2 * legend_rows
    below_ticks = -0.5 / (height - margins.top - margins.bottom)  # axes fraction under the xlabel
    with figure("chart-decomposition", height, margins=margins) as (fig, ax):
        dates = pd.to_datetime(contributions["period_start"])
        layers = [contributions["baseline"].to_numpy()]
        layers += [contributions[c].to_numpy() for c in channels]
        colours = [BASELINE_COLOUR, *(colour(i) for i in range(len(channels)))]
        ax.stackplot(dates, *layers, labels=names, colors=colours, alpha=0.85, linewidth=0)
        ax.plot(dates, contributions["actual"], color="#222222", linewidth=0.9, label="actual")
        ax.set_title(title, loc="left")
        ax.set_ylabel(f"{target_label} per {period} (posterior mean)")
        ax.set_xlabel(f"{period} starting")
        svg.date_axis(ax)
        svg.thousands(ax.yaxis)
        ax.set_ylim(bottom=min(0.0, float(np.min(layers[0]))))
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, below_ticks), ncols=ncols, borderaxespad=0.0
        )
        return render(fig, "chart-decomposition", title)


@dataclass(frozen=True)
class IntervalRow:
    label: str
    mean: float
    lower: float
    upper: float


def intervals(ax: Axes, rows: Sequence[IntervalRow], one_colour: bool = False) -> None:
    """Rows top to bottom: a dot at the mean on a bar from lower to upper. The bars are one
    collection and the dots one line per colour: an entity chart has 40 rows, and a Line2D per
    bar and dot cost more to build and draw than the rest of the chart."""
    from matplotlib.collections import LineCollection

    y = np.arange(len(rows))[::-1]
    tints = [colour(0 if one_colour else i) for i in range(len(rows))]
    bars = [[(row.lower, pos), (row.upper, pos)] for row, pos in zip(rows, y, strict=True)]
    ax.add_collection(
        LineCollection(bars, colors=tints, linewidths=3.0, alpha=0.55, capstyle="round")
    )
    for tint in dict.fromkeys(tints):
        dots = [(row.mean, pos) for row, pos, t in zip(rows, y, tints, strict=True) if t == tint]
        ax.plot(*zip(*dots, strict=True), "o", color=tint, markersize=6)
    ax.set_yticks(y, [r.label for r in rows])
    ax.set_ylim(-0.6, len(rows) - 0.1)
    ax.grid(axis="y", visible=False)


def interval_chart(
    chart_id: str,
    title: str,
    rows: Sequence[IntervalRow],
    xlabel: str,
    reference: float | None = None,
    reference_label: str = "",
    zero_based: bool = True,
    one_colour: bool = False,
) -> Chart:
    """One dot and its interval per row (ROAS per channel): the widths are the message."""
    margins = Margins(left=svg.label_width([r.label for r in rows]), top=0.35, bottom=0.5)
    with figure(chart_id, 1.1 + 0.38 * len(rows), margins=margins) as (fig, ax):
        intervals(ax, rows, one_colour)
        if reference is not None:
            ax.axvline(reference, color="#888888", linestyle="--", linewidth=0.9)
            ax.annotate(
                reference_label,
                (reference, len(rows) - 0.55),
                fontsize=8,
                color="#555555",
                ha="left",
                va="bottom",
                xytext=(3, 0),
                textcoords="offset points",
            )
        if zero_based:
            ax.set_xlim(left=0.0)
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        return render(fig, chart_id, title)


def response_chart(
    curves: pd.DataFrame, channels: Sequence[str], labels: dict[str, str], target_label: str
) -> Chart:
    """Per channel: incremental sales against spend (0-2x), the current spend marked.

    A channel without a spend column is drawn against its activity multiplier instead.
    """
    title = "Response curves: incremental sales against spend"
    ncols = min(3, len(channels))
    nrows = math.ceil(len(channels) / ncols)
    margins = Margins(left=0.8, top=0.55, bottom=0.5, wspace=0.5, hspace=0.75)
    height = margins.top + margins.bottom + 1.75 * nrows + margins.hspace * (nrows - 1)
    with figure("chart-response", height, nrows, ncols, margins) as (fig, axes):
        axes = np.atleast_1d(axes)
        for i, ax in enumerate(axes):
            if i >= len(channels):
                ax.set_visible(False)
                continue
            _response_panel(ax, curves, channels[i], colour(i))
            ax.set_title(labels[channels[i]], **PANEL_TITLE)
            if i % ncols == 0:
                ax.set_ylabel(f"incremental {target_label}")
        fig.suptitle(title, **SUPTITLE)
        return render(fig, "chart-response", title)


def _response_panel(ax: Axes, curves: pd.DataFrame, channel: str, tint: str) -> None:
    part = curves[curves["channel"] == channel].sort_values("multiplier")
    has_spend = bool(np.isfinite(part["spend"]).all() and part["spend"].max() > 0)
    x = part["spend" if has_spend else "multiplier"].to_numpy(dtype=float)
    ax.fill_between(
        x,
        part["incremental_hdi_lower"],
        part["incremental_hdi_upper"],
        color=tint,
        alpha=0.22,
        linewidth=0,
    )
    ax.plot(x, part["incremental_mean"], color=tint, linewidth=1.5)
    now = int((part["multiplier"] - 1.0).abs().argmin())
    x_now, y_now = x[now], float(part["incremental_mean"].iloc[now])
    ax.axvline(x_now, color="#666666", linestyle=":", linewidth=0.9)
    ax.plot([x_now], [y_now], "o", color="#222222", markersize=5)
    ax.annotate(
        "current",
        (x_now, y_now),
        fontsize=7.5,
        xytext=(5, -11),
        textcoords="offset points",
        color="#333333",
    )
    ax.set_xlabel("spend over the period" if has_spend else "x current activity (no spend)")
    ax.set_xlim(left=0.0)
    svg.compact(ax.xaxis)
    svg.compact(ax.yaxis)


def prior_posterior_chart(
    learned: dict[str, dict[str, Any]],
    channels: Sequence[str],
    labels: dict[str, str],
    parameters: dict[str, tuple[str, str]],
) -> Chart:
    """Per learned parameter (name -> (title, unit)), each channel's prior and posterior."""
    from matplotlib.lines import Line2D

    title = "Learned carryover and saturation: prior against posterior (mean ± 1 sd)"
    names = list(parameters)
    ticks = svg.label_width([labels[c] for c in channels])
    margins = Margins(left=ticks, top=0.6, bottom=0.5, wspace=ticks + 0.2)
    height = margins.top + margins.bottom + 0.3 + 0.42 * len(channels)
    with figure("chart-learned", height, 1, len(names), margins) as (fig, axes):
        axes = np.atleast_1d(axes)
        y = np.arange(len(channels))[::-1].astype(float)
        for ax, name in zip(axes, names, strict=True):
            for i, (channel, pos) in enumerate(zip(channels, y, strict=True)):
                entry = learned.get(channel, {}).get(name)
                if not entry:
                    continue
                for shift, mean, sd, style in (
                    (0.14, entry["prior_mean"], entry["prior_sd"], "#A0A0A0"),
                    (-0.14, entry["posterior_mean"], entry["posterior_sd"], colour(i)),
                ):
                    ax.plot(
                        [mean - sd, mean + sd],
                        [pos + shift] * 2,
                        color=style,
                        linewidth=2.5,
                        solid_capstyle="round",
                    )
                    ax.plot([mean], [pos + shift], "o", color=style, markersize=4.5)
            ax.set_yticks(y, [labels[c] for c in channels])
            ax.set_ylim(-0.6, len(channels) - 0.4)
            ax.grid(axis="y", visible=False)
            heading, unit = parameters[name]
            ax.set_title(heading, loc="left", fontweight="normal", fontsize=9.5)
            ax.set_xlabel(unit)
        key = [
            Line2D([], [], color=c, marker="o", linewidth=2.5, label=name)
            for c, name in (("#A0A0A0", "prior"), (colour(0), "posterior"))
        ]
        fig.legend(handles=key, loc="upper right", ncols=2, bbox_to_anchor=(0.99, 1.0))
        fig.suptitle(title, **SUPTITLE, y=0.985, va="top")
        return render(fig, "chart-learned", title)
