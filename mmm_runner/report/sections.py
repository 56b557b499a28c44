"""The report's content, section by section (README "Report"), from a run read through the store.

Each builder turns artifacts into a `Section`: charts, tables, notes. A missing artifact (a run
that failed, or one made before the artifact existed) gives the section an `unavailable` line
rather than an error, so the report renders for any run directory. Text is plain here; the
template escapes it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import yaml

from mmm_runner.analysis.diagnostics import ADVICE
from mmm_runner.report import charts
from mmm_runner.report.charts import IntervalRow
from mmm_runner.report.content import RunFacts, Section, Table
from mmm_runner.report.entity import entity_roas_charts
from mmm_runner.report.labels import interval, num, pct
from mmm_runner.store import Artifact, RunRecord

LEARNED = {  # the per-channel parameters the learned structures report: (title, unit)
    "decay": ("Carryover (decay)", "share of a period's effect kept the next {period}"),
    "half_saturation": ("Half-saturation point", "share of the channel's peak activity"),
}


def fit_section(facts: RunFacts) -> Section:
    section = Section("fit", "Fit against actuals")
    section.lead = (
        "Posterior predictive mean and 94% interval against the actual series; a good fit follows "
        "the turns of the series and holds about 94% of the points inside its band."
    )
    fitted, metrics = facts.record.fitted, facts.record.fit_metrics
    if fitted is None or metrics is None:
        section.unavailable = facts.missing(Artifact.FITTED)
        return section
    section.charts.append(charts.fit_chart(fitted, facts.target, facts.period))
    rows = []
    for name, split in (("in sample", metrics.in_sample), ("holdout", metrics.holdout)):
        if split is None:
            continue
        rows.append(
            [
                name,
                str(split.n_periods),
                pct(split.mape),
                num(split.rmse, 4),
                num(split.r2, 3),
                pct(split.interval_coverage_94),
            ]
        )
    columns = ["data", "periods", "MAPE", f"RMSE ({facts.target})", "R²", "94% coverage"]
    section.tables.append(Table(columns, rows, (1, 2, 3, 4, 5)))
    if metrics.holdout is None:
        section.notes.append(
            "No holdout: `dataset.holdout_periods=13` keeps the last 13 periods out of the fit "
            "and reports how well the model forecasts them."
        )
    return section


def decomposition_section(facts: RunFacts) -> Section:
    section = Section("decomposition", "Decomposition over time")
    section.lead = (
        "Each period's fitted sales split into the baseline (everything but media) and each "
        "channel's contribution; the line is the actual series."
    )
    table, summary = facts.record.contributions, facts.record.contribution_summary
    if table is None or summary is None:
        section.unavailable = facts.missing(Artifact.CONTRIBUTIONS)
        return section
    channels = [c for c in facts.channels if c in table]
    section.charts.append(
        charts.decomposition_chart(table, channels, facts.labels, facts.target, facts.period)
    )
    base = summary.baseline_total
    rows = [["baseline", "", interval(base.mean, base.hdi_lower, base.hdi_upper), "", ""]]
    for channel in channels:
        entry = summary.channels.get(channel)
        if entry is None:
            continue
        total, fitted, incr = (
            entry.contribution_total,
            entry.share_of_fitted,
            entry.share_of_incremental,
        )
        rows.append(
            [
                facts.labels[channel],
                channel,
                interval(total.mean, total.hdi_lower, total.hdi_upper),
                f"{pct(fitted.mean)} [{pct(fitted.hdi_lower)}, {pct(fitted.hdi_upper)}]",
                f"{pct(incr.mean)} [{pct(incr.hdi_lower)}, {pct(incr.hdi_upper)}]",
            ]
        )
    columns = [
        "channel",
        "column",
        f"total {facts.target} [94% HDI]",
        "share of fitted",
        "share of media-driven",
    ]
    section.tables.append(Table(columns, rows, (2, 3, 4)))
    return section


def roas_section(facts: RunFacts) -> Section:
    section = Section("roas", "Return on ad spend")
    section.lead = (
        f"ROAS = a channel's contributed {facts.target} / its spend (ROI = ROAS - 1), posterior "
        "mean with the 94% highest-density interval: a wide interval means the data cannot pin "
        "the return down."
    )
    roi = facts.record.roi
    if roi is None:
        section.unavailable = facts.missing(Artifact.ROI)
        return section
    rows, points = [], []
    for channel in facts.channels or list(roi.channels):
        entry = roi.channels.get(channel)
        if entry is None:
            continue
        if entry.roas is None or entry.roi is None:
            rows.append([facts.labels[channel], channel, "-", "-", "-", "-"])
            section.notes.append(f"{facts.labels[channel]} ({channel}): {entry.note}")
            continue
        r, o = entry.roas, entry.roi
        points.append(IntervalRow(facts.labels[channel], r.mean, r.hdi_lower, r.hdi_upper))
        rows.append(
            [
                facts.labels[channel],
                entry.spend_column or "",
                num(entry.spend_total, 4),
                num(entry.contribution_total, 4),
                interval(r.mean, r.hdi_lower, r.hdi_upper),
                interval(o.mean, o.hdi_lower, o.hdi_upper),
            ]
        )
    if points:
        section.charts.append(
            charts.interval_chart(
                "chart-roas",
                "ROAS per channel (94% HDI)",
                points,
                f"{facts.target} returned per unit of spend",
                1.0,
                "break-even (ROAS 1)",
            )
        )
    columns = [
        "channel",
        "spend column",
        "spend",
        f"contributed {facts.target}",
        "ROAS [94% HDI]",
        "ROI [94% HDI]",
    ]
    section.tables.append(Table(columns, rows, (2, 3, 4, 5)))
    entity_roas_charts(facts, section, _frame(facts.record, Artifact.ENTITY_ROI))
    return section


def response_section(facts: RunFacts) -> Section:
    section = Section("response", "Response curves")
    section.lead = (
        f"Incremental {facts.target} over the fitted period if each channel's spend were scaled "
        "from 0 to 2 times what it was (others unchanged), with the 94% interval; the dot is "
        "the current spend. Where the curve flattens, more spend buys little."
    )
    curves = _frame(facts.record, Artifact.RESPONSE_CURVES)
    if curves is None or curves.empty:
        section.unavailable = "not available: this run has no response curves " + (
            f"({Artifact.RESPONSE_CURVES.filename})."
        )
        return section
    channels = [c for c in facts.channels if c in set(curves["channel"])]
    section.charts.append(charts.response_chart(curves, channels, facts.labels, facts.target))
    roi = facts.record.roi.raw.get("channels", {}) if facts.record.roi else {}
    rows = []
    for channel in channels:
        entry = roi.get(channel, {})
        now, mroas = entry.get("incremental_at_current") or {}, entry.get("mroas") or {}
        rows.append(
            [
                facts.labels[channel],
                num(entry.get("spend_total"), 4),
                interval(now.get("mean"), now.get("hdi_lower"), now.get("hdi_upper")),
                interval(mroas.get("mean"), mroas.get("hdi_lower"), mroas.get("hdi_upper")),
            ]
        )
    columns = [
        "channel",
        "current spend",
        f"incremental {facts.target} [94% HDI]",
        "marginal ROAS [94% HDI]",
    ]
    section.tables.append(Table(columns, rows, (1, 2, 3)))
    section.notes.append(
        "Marginal ROAS: what 1% more spend in every period would return per unit of that extra "
        "spend. Below 1, the last units of spend did not pay for themselves."
    )
    return section


def _frame(record: RunRecord, artifact: Artifact) -> pd.DataFrame | None:
    from mmm_runner.store import read

    frame = read(record.run_dir, artifact) if record.has(artifact) else None
    return frame if isinstance(frame, pd.DataFrame) else None


def learned_section(facts: RunFacts) -> Section:
    section = Section("learned", "Learned carryover and saturation")
    section.lead = (
        "Per channel, the prior belief and what the data made of it (mean ± 1 sd). Contraction = "
        "1 - posterior variance / prior variance: near 1 the data decided, near 0 the reported "
        "value is still the prior."
    )
    diag = facts.record.diagnostics
    learned = (diag.raw.get("prior_posterior") or {}) if diag else {}
    per_channel: dict[str, dict[str, Any]] = learned.get("channels") or {}
    params = {
        p: (title, unit.format(period=facts.period))
        for p, (title, unit) in LEARNED.items()
        if any(p in per_channel.get(c, {}) for c in facts.channels)
    }
    if not params:
        section.unavailable = _fixed_transforms(facts)
        return section
    section.charts.append(
        charts.prior_posterior_chart(per_channel, facts.channels, facts.labels, params)
    )
    rows = []
    for channel in facts.channels:
        for name in params:
            e = per_channel.get(channel, {}).get(name)
            if e:
                rows.append(
                    [
                        facts.labels[channel],
                        name,
                        f"{num(e['prior_mean'])} ± {num(e['prior_sd'])}",
                        f"{num(e['posterior_mean'])} ± {num(e['posterior_sd'])}",
                        num(e.get("contraction"), 2),
                    ]
                )
    columns = ["channel", "parameter", "prior", "posterior", "contraction"]
    section.tables.append(Table(columns, rows, (2, 3, 4)))
    section.notes += list(learned.get("warnings") or [])
    return section


def _fixed_transforms(facts: RunFacts) -> str:
    features = (facts.record.config or {}).get("features", {})
    adstock, saturation = features.get("adstock", {}), features.get("saturation", {})
    if not facts.record.diagnostics:
        return facts.missing(Artifact.DIAGNOSTICS)
    return (
        "This structure does not learn carryover or saturation: they are fixed by the feature "
        f"config (decay {adstock.get('decay_default')}, per channel "
        f"{adstock.get('per_channel') or 'none'}; saturation K {saturation.get('K')}, "
        f"enabled {saturation.get('enabled')}). `model=default` learns them per channel."
    )


def calibration_table(calibration: dict[str, Any], section: Section) -> None:
    """Lift tests (calibration=<name>): the experiment against the model's own counterfactual."""
    tests = calibration.get("lift_tests") or []
    if not tests:
        return
    rows = []
    for test in tests:
        p = test["predicted"]
        rows.append(
            [
                test["name"],
                f"{test['start']}..{test['measure_end']}",
                f"{num(test['measured']['lift'])} ± {num(test['measured']['se'])}",
                interval(p["mean"], p["hdi_lower"], p["hdi_upper"]),
                "yes" if test["agrees"] else f"no (z {test['z']:+.1f})",
            ]
        )
    columns = ["lift test", "measured over", "measured lift", "model (94% HDI)", "agrees"]
    section.tables.append(Table(columns, rows, (2, 3)))


def diagnostics_section(facts: RunFacts) -> Section:
    section = Section("diagnostics", "Diagnostics")
    section.lead = (
        "Convergence of the sampler (R-hat, effective sample size, divergent transitions) and "
        "PSIS-LOO, the out-of-sample score a sweep ranks models by."
    )
    diag, loo = facts.record.diagnostics, facts.record.loo
    if diag is None:
        section.unavailable = facts.missing(Artifact.DIAGNOSTICS)
        return section
    limits = diag.raw.get("thresholds") or {}
    bfmi = diag.raw.get("bfmi_per_chain") or []
    rows = [
        ["max R-hat", num(diag.max_rhat, 4), f"< {limits.get('rhat_max', 1.01)}"],
        [
            "min ESS bulk / tail",
            f"{num(diag.min_ess_bulk, 4)} / {num(diag.min_ess_tail, 4)}",
            f"> {limits.get('ess_min', 400)}",
        ],
        ["divergent transitions", str(diag.divergences), "0"],
        [
            "BFMI per chain",
            ", ".join(num(b, 3) for b in bfmi) or "-",
            f"> {limits.get('bfmi_min', 0.3)}",
        ],
        ["chains x draws", f"{diag.raw.get('n_chains', '-')} x {diag.raw.get('n_draws', '-')}", ""],
    ]
    if loo is not None:
        rows += [
            ["ELPD-LOO ± SE", f"{num(loo.elpd_loo, 5)} ± {num(loo.se, 3)}", "higher is better"],
            ["p_loo (effective parameters)", num(loo.p_loo, 3), ""],
            [f"points with Pareto k > {loo.pareto_k_threshold:.2f}", str(loo.pareto_k_bad), "0"],
        ]
    section.tables.append(Table(["measure", "value", "wanted"], rows, (1, 2)))
    calibration_table(diag.raw.get("calibration") or {}, section)
    section.notes += [f"not converged: {r}" for r in diag.reasons] + list(diag.warnings)
    section.advice = list(diag.advice)
    if not diag.advice:
        section.notes.append("Converged: no action needed.")
    section.pre = "\n".join(ADVICE.values())
    section.pre_caption = "Troubleshooting, for any run that does not converge:"
    return section


def data_section(facts: RunFacts) -> Section:
    section = Section("data", "Data checks")
    summary = facts.record.validation
    if summary is None:
        section.unavailable = facts.missing(Artifact.VALIDATION_SUMMARY)
        return section
    dates = summary.get("date_range") or {}
    section.lead = (
        f"{summary.get('file')} ({summary.get('format')}): {summary.get('n_entities')} "
        f"entities x {summary.get('n_periods')} periods, {dates.get('first')} to "
        f"{dates.get('last')}, grain {summary.get('grain')} (detected "
        f"{summary.get('detected_grain')}); entities are summed to brand level."
    )
    rows = [
        [
            c.get("name", ""),
            "passed" if c.get("passed") else "FAILED",
            c.get("description", ""),
            str(c.get("n_offending", "")),
            c.get("decided_by", ""),
        ]
        for c in summary.get("checks", [])
    ]
    section.tables.append(
        Table(["check", "result", "what it checks", "offending rows", "decided by"], rows, (3,))
    )
    columns = summary.get("columns") or {}
    pairs = {p["driver"]: p.get("spend") for p in columns.get("pairs", [])}
    role_rows = [
        [facts.labels.get(d, d), d, pairs.get(d) or "(none: no ROAS)"]
        for d in columns.get("drivers", [])
    ]
    role_rows += [["control", c, ""] for c in columns.get("controls", [])]
    section.tables.append(Table(["channel", "driver column", "spend column"], role_rows))
    section.notes += [f"warning: {w}" for w in summary.get("warnings", [])]
    return section


def config_section(facts: RunFacts, changed: list[str]) -> Section:
    section = Section("config", "Configuration")
    record = facts.record
    overrides = " ".join(record.overrides) or "(none)"
    section.lead = f"Command-line overrides: {overrides}. The composed config the run used:"
    section.notes = [f"differs from the defaults: {line}" for line in changed]
    if record.config is not None:
        section.pre = yaml.safe_dump(record.config, sort_keys=False, default_flow_style=None)
    else:
        section.unavailable = facts.missing(Artifact.HYDRA_CONFIG)
    return section
