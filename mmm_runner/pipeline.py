"""The orchestrator: runs the stages (docs/architecture.md); the only code that writes a run dir.

Usable without Hydra: `run_pipeline(OmegaConf.structured(RunConfig(...)), Path("my_run"))`.
Heavy imports (pymc, arviz) happen inside the stages that need them, so config and data
errors fail fast.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmm_runner.config.calibration import is_configured
from mmm_runner.config.checks import check_config
from mmm_runner.config.schema import to_plain, value_of
from mmm_runner.data.canonicalize import canonicalize, entity_panel
from mmm_runner.data.checks import describe_row
from mmm_runner.data.source import resolve_input_path
from mmm_runner.data.sql import SqlSession
from mmm_runner.data.validate import ValidationReport, validate
from mmm_runner.errors import DataValidationError
from mmm_runner.features.build import FeatureSet, build_features
from mmm_runner.features.entity import attach_panel
from mmm_runner.inference.caches import configure_caches
from mmm_runner.model import is_entity_level, periods_to_fit, structure_for
from mmm_runner.model.calibration import load_entries
from mmm_runner.store.layout import Artifact, write, write_compiled_sql
from mmm_runner.store.manifest import build_manifest, package_versions
from mmm_runner.store.run_lock import clear_previous_attempt, run_lock
from mmm_runner.store.status import RunStatus


@dataclass
class RunResult:
    run_dir: Path
    stage: str
    timings: dict[str, float] = field(default_factory=dict)
    diagnostics: dict[str, Any] | None = None
    roi: dict[str, Any] | None = None
    artifacts: list[str] = field(default_factory=list)  # run-dir relative paths, in write order


@dataclass
class RunContext:
    """What one run carries between stages."""

    cfg: Any
    run_dir: Path
    status: RunStatus
    echo: Callable[[str], None]
    timings: dict[str, float] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    compiled_written: int = 0
    caches: dict[str, str] = field(default_factory=dict)
    plain: dict[str, Any] = field(default_factory=dict)  # the resolved config as plain data
    calibration: Any = None  # lift tests and ROAS priors (model/calibration.py), if configured
    spec: dict[str, Any] = field(default_factory=dict)  # Artifact.RUN_SPEC as written
    entity_parametrization: dict[str, Any] | None = None  # `auto`: what was chosen and why

    def write(self, artifact: Artifact, payload: object) -> None:
        write(self.run_dir, artifact, payload)
        self.written.append(artifact.filename)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(time.perf_counter() - start, 4)

    def flush_sql(self, session: SqlSession) -> None:
        """Artifact.COMPILED_SQL: every statement run since the last flush."""
        for i, (name, text) in enumerate(session.compiled[self.compiled_written :]):
            index = self.compiled_written + i + 1
            self.written.append(write_compiled_sql(self.run_dir, index, name, text))
        self.compiled_written = len(session.compiled)


def validation_error(report: ValidationReport) -> DataValidationError:
    """The first error as one line, then up to five offending rows."""
    first = report.errors[0]
    lines = [first.message]
    lines += [f"    {describe_row(r)}  [{r.get('problem')}]" for r in first.examples[1:]]
    if len(report.errors) > 1:
        lines.append(
            f"    ({len(report.errors) - 1} more failed check(s): "
            f"see {Artifact.VALIDATION_SUMMARY.filename})"
        )
    return DataValidationError("\n".join(lines))


def run_pipeline(cfg: Any, run_dir: Path, echo: Callable[[str], None] = print) -> RunResult:
    """Run every stage; on any failure the status says ERROR (with traceback) and it re-raises.

    The directory is locked for the run; artifacts of an earlier attempt there (everything in
    `store.layout.WRITTEN_BY_RUN`) are removed first, so what it holds belongs to one run.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        clear_previous_attempt(run_dir)
        ctx = RunContext(cfg=cfg, run_dir=run_dir, status=RunStatus(run_dir), echo=echo)
        ctx.status.advance("CREATED", "run directory created")
        try:
            return _run_stages(ctx)
        except BaseException as exc:
            ctx.status.fail(exc)
            raise


def _run_stages(ctx: RunContext) -> RunResult:
    cfg = ctx.cfg
    check_config(cfg)
    structure_for(cfg.model, cfg.features).check(cfg.model)
    load_entries(getattr(cfg, "calibration", None))  # a calibration CSV fails before any work
    ctx.caches = configure_caches(cfg.sampler.cache_dir)
    plain = ctx.plain = to_plain(cfg)
    input_path = resolve_input_path(str(cfg.dataset.path))
    runtime = {"pid": os.getpid(), "host": socket.gethostname(), "run_dir": str(ctx.run_dir)}
    ctx.spec = {**plain, "resolved_input_path": str(input_path), "runtime": runtime}
    ctx.write(Artifact.RUN_SPEC, ctx.spec)

    session = SqlSession()
    try:
        with ctx.timed("validate"):
            report = validate(
                session, input_path, cfg.dataset, periods_to_fit(cfg.model, cfg.features)
            )
            ctx.flush_sql(session)
            ctx.write(Artifact.VALIDATION_SUMMARY, report.summary)
            if report.errors:
                raise validation_error(report)
        for warning in report.summary["warnings"]:
            ctx.echo(f"warning: {warning}")
        ctx.status.advance("VALIDATED", f"{len(report.checks)} checks passed")

        with ctx.timed("canonicalize"):
            plan = report.plan
            assert plan is not None and report.grain is not None
            canonical = canonicalize(session, plan)
            panel = entity_panel(session, plan) if is_entity_level(cfg.model) else None
            ctx.flush_sql(session)
            ctx.write(Artifact.CANONICAL_DATA, canonical)
            if panel is not None:
                ctx.write(Artifact.ENTITY_DATA, panel)
            ctx.write(Artifact.COLUMN_INFO, {**plan.to_dict(), "grain": report.grain})
    finally:
        session.close()

    with ctx.timed("features"):
        features = build_features(
            canonical,
            plan.target,
            plan.drivers,
            plan.controls,
            cfg.features,
            report.grain,
            holdout_periods=int(cfg.dataset.holdout_periods),
        )
        scaler = features.scaler_dict()
        if panel is not None:  # model.level=entity: per-entity arrays beside the brand ones
            attach_panel(features, panel, plan, cfg.dataset.population_col)
            scaler["entities"] = features.panel.scale_dict()
        ctx.write(Artifact.FEATURES, features.to_frame())
        ctx.write(Artifact.FEATURE_METADATA, feature_metadata(plain, features))
        ctx.write(Artifact.FEATURE_SCALER, scaler)
    if panel is not None:
        _resolve_entity_draws(ctx)
        _resolve_entity_parametrization(ctx, features)
    ctx.calibration = _calibration(ctx, features, canonical, plan)
    ctx.status.advance("FEATURES_BUILT", f"{len(features.channel_names)} channels")

    ctx.status.advance("TRAINING", "sampling")
    fit = _train(ctx, features)
    ctx.status.advance("TRAINED", f"sampled in {fit.sampling_seconds:.1f}s")

    result = _outputs(ctx, fit, features, canonical, plan)
    with ctx.timed("report"):
        _report(ctx)
    result.timings["report"] = ctx.timings["report"]
    ctx.write(Artifact.MANIFEST, build_manifest(ctx.run_dir, plain, input_path))
    ctx.status.advance("OUTPUTS_READY", "all artifacts written")
    return result


def _report(ctx: RunContext) -> None:
    """The report page, from the artifacts just written (before the manifest checksums them).

    Every number is already on disk: a report that fails to render costs a warning, not the run.
    """
    from mmm_runner.report.page import render_report

    try:
        ctx.write(Artifact.REPORT, render_report(ctx.run_dir, finishing=True))
    except Exception as exc:
        name = Artifact.REPORT.filename
        ctx.echo(
            f"warning: {name} not written ({type(exc).__name__}: {exc}); retry with "
            f"`python -m mmm_runner.report {ctx.run_dir}`"
        )


def feature_metadata(plain: dict[str, Any], features: FeatureSet) -> dict[str, Any]:
    return {
        "config": plain["features"],
        "blocks": features.blocks,
        "channel_decays": features.decays,
        "n_periods": len(features.target),
        "period_start": str(features.periods[0])[:10],
        "period_end": str(features.periods[-1])[:10],
    }


def _settle(ctx: RunContext, group: str, key: str, value: Any) -> None:
    """A setting the run decided (`auto`, or one for its level) goes into the config every later
    stage and reader sees: `ctx.cfg`, and Artifact.RUN_SPEC rewritten."""
    setattr(getattr(ctx.cfg, group), key, value)
    ctx.spec[group][key] = value  # ctx.spec holds ctx.plain's group dicts: both see it
    ctx.write(Artifact.RUN_SPEC, ctx.spec)


def _resolve_entity_draws(ctx: RunContext) -> None:
    """`sampler.entity_draws` (when set) becomes `sampler.draws` of an entity-level run."""
    draws = ctx.cfg.sampler.entity_draws
    if draws is None or draws == ctx.cfg.sampler.draws:
        return
    _settle(ctx, "sampler", "draws", draws)
    ctx.echo(f"model.level=entity: {draws} draws per chain (sampler.entity_draws)")


def _resolve_entity_parametrization(ctx: RunContext, features: FeatureSet) -> None:
    """`model.entity_parametrization: auto` becomes, per channel, the form the data call for
    (`model.entity_centred`), in the config every later stage and reader sees (Artifact.RUN_SPEC is
    rewritten); the evidence goes to Artifact.MODEL_METADATA."""
    from mmm_runner.model.entity import choose_parametrization

    cfg = ctx.cfg
    if value_of(cfg.model.entity_parametrization) != "auto" or cfg.model.entity_centred:
        return
    centred, relative_se = choose_parametrization(structure_for(cfg.model, cfg.features), features)
    ctx.entity_parametrization = {"centred": centred, "relative_se": relative_se}
    _settle(ctx, "model", "entity_centred", centred)
    forms = ", ".join(f"{c} {'centred' if v else 'non-centred'}" for c, v in centred.items())
    ctx.echo(f"entity effects (entity_parametrization=auto): {forms}")


def _calibration(ctx: RunContext, features: FeatureSet, canonical: Any, plan: Any) -> Any:
    """Lift tests and ROAS priors checked against the data (None when none is configured)."""
    cfg = ctx.cfg
    if not is_configured(getattr(cfg, "calibration", None)) and not cfg.model.roas_prior:
        return None
    from mmm_runner.analysis.calibration import run_calibration

    return run_calibration(cfg, structure_for(cfg.model, cfg.features), features, canonical, plan)


def _train(ctx: RunContext, features: FeatureSet) -> Any:
    cfg = ctx.cfg
    with ctx.timed("import_backend"):
        from mmm_runner.inference.fit import fit as fit_backend
    with ctx.timed("train"):
        structure = structure_for(cfg.model, cfg.features)
        if ctx.calibration is not None:  # its terms join the graph (docs/model.md, "Calibration")
            structure = structure.with_terms(ctx.calibration)
        fit = fit_backend(structure, features.training, cfg.model, cfg.sampler)
    with ctx.timed("write_posterior"):
        ctx.write(Artifact.POSTERIOR, fit.idata)
    ctx.timings["sampling"] = round(fit.sampling_seconds, 4)
    return fit


def _outputs(
    ctx: RunContext, fit: Any, features: FeatureSet, canonical: Any, plan: Any
) -> RunResult:
    from mmm_runner.analysis.contributions import contribution_report
    from mmm_runner.analysis.curves import add_to_roi, channel_spend, response_report
    from mmm_runner.analysis.diagnostics import (
        diagnose,
        element_diagnostics,
        loo_report,
        posterior_summary,
        rounded_for_report,
    )
    from mmm_runner.analysis.fit_metrics import fitted_table, split_metrics
    from mmm_runner.analysis.intervals import HDI_PROB
    from mmm_runner.analysis.predictions import predict_run
    from mmm_runner.analysis.prior_posterior import prior_posterior

    cfg = ctx.cfg
    structure = structure_for(cfg.model, cfg.features)
    var_names = [v.name for v in structure.variables(cfg.model) if v.name in fit.idata.posterior]
    with ctx.timed("diagnostics"):
        per_var = element_diagnostics(fit.idata)  # R-hat/ESS once: summary and LOO share it
        summary = posterior_summary(fit.idata, var_names, per_var)
        table = rounded_for_report(summary).to_dict(orient="index")
        ctx.write(
            Artifact.POSTERIOR_SUMMARY,
            {"hdi_prob": HDI_PROB, "parameters": {str(k): v for k, v in table.items()}},
        )
        diagnostics = diagnose(fit.idata, summary)
        draws = structure.draws(fit.idata, cfg.model, features)
        diagnostics["prior_posterior"] = prior_posterior(
            structure, cfg.model, draws, features.training
        )
        if ctx.calibration is not None:
            from mmm_runner.analysis.calibration import calibration_report

            diagnostics["calibration"] = calibration_report(
                ctx.calibration, structure, draws, features.training
            )
        ctx.write(Artifact.DIAGNOSTICS, diagnostics)
        ctx.write(Artifact.LOO, loo_report(fit.idata, per_var))

    with ctx.timed("contributions"):
        n_fit = features.n_fit
        predictions = predict_run(structure, draws, features)  # the one pass over the draws
        report = contribution_report(
            structure,
            draws,
            features.training,
            canonical.iloc[:n_fit],
            plan,
            parts=predictions.parts,
        )
        report.roi["converged"] = diagnostics["converged"]
        report.summary["converged"] = diagnostics["converged"]
        ctx.write(Artifact.CONTRIBUTIONS, report.table)
        ctx.write(Artifact.CONTRIBUTION_SUMMARY, report.summary)
        seed = int(cfg.sampler.random_seed)
        fitted = fitted_table(structure, draws, features, seed, mu=predictions.mu)
        ctx.write(Artifact.FITTED, fitted)
        metrics = split_metrics(fitted)
        ctx.write(Artifact.FIT_METRICS, metrics)
        if predictions.panel is not None:
            from mmm_runner.analysis.entity import entity_tables

            entity_roi, entity_table = entity_tables(
                structure,  # type: ignore[arg-type]
                draws,
                features.training,
                parts=predictions.panel.entities,
            )
            ctx.write(Artifact.ENTITY_ROI, entity_roi)
            ctx.write(Artifact.ENTITY_CONTRIBUTIONS, entity_table)

    with ctx.timed("response_curves"):  # curves and mROAS (docs/model.md, "Response curves")
        media = predictions.response(structure, draws, features.training, cfg.features)
        spend = channel_spend(canonical.iloc[:n_fit], plan.spend_for, features.channel_names)
        response = response_report(media, spend)
        ctx.write(Artifact.RESPONSE_CURVES, response.curves)
        add_to_roi(report.roi, response)
        ctx.write(Artifact.ROI, report.roi)

    ctx.write(
        Artifact.MODEL_METADATA,
        {
            "structure": structure.name,
            "model": structure.description,
            "priors": ctx.plain["model"],
            "sampler": ctx.plain["sampler"],
            "backend": fit.backend,
            "backend_details": {**fit.details, "caches": ctx.caches},
            **(
                {"entity_parametrization": ctx.entity_parametrization}
                if ctx.entity_parametrization
                else {}
            ),
            "random_seed": int(cfg.sampler.random_seed),
            "versions": package_versions(),
            "timings_seconds": ctx.timings,
            "channels": features.channel_names,
            "controls": features.control_names,
        },
    )
    return RunResult(
        run_dir=ctx.run_dir,
        stage="OUTPUTS_READY",
        timings=dict(ctx.timings),
        diagnostics=diagnostics,
        roi=report.roi,
        artifacts=list(ctx.written),
    )
