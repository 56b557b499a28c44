"""The orchestrator: runs the six stages of SPEC §1 and is the only code that writes a run dir.

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

from mmm_runner.config.checks import check_config
from mmm_runner.config.schema import to_plain
from mmm_runner.data.canonicalize import canonicalize
from mmm_runner.data.checks import describe_row
from mmm_runner.data.source import resolve_input_path
from mmm_runner.data.sql import SqlSession
from mmm_runner.data.validate import ValidationReport, validate
from mmm_runner.errors import DataValidationError
from mmm_runner.features.build import FeatureSet, build_features
from mmm_runner.io.artifacts import write_json, write_parquet, write_text, write_with
from mmm_runner.io.manifest import build_manifest, package_versions
from mmm_runner.io.run_lock import clear_previous_attempt, run_lock
from mmm_runner.io.status import RunStatus
from mmm_runner.model.caches import configure_caches


@dataclass
class RunResult:
    run_dir: Path
    stage: str
    timings: dict[str, float] = field(default_factory=dict)
    diagnostics: dict[str, Any] | None = None
    roi: dict[str, Any] | None = None
    artifacts: list[str] = field(default_factory=list)


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

    def write(self, name: str, writer: Callable[[Path, Any], Path], payload: Any) -> None:
        writer(self.run_dir / name, payload)
        self.written.append(name)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(time.perf_counter() - start, 4)

    def flush_sql(self, session: SqlSession) -> None:
        """compiled_sql/NN_<table>.sql for every statement run since the last flush."""
        for i, (name, text) in enumerate(session.compiled[self.compiled_written :]):
            index = self.compiled_written + i + 1
            self.write(f"compiled_sql/{index:02d}_{name}.sql", write_text, text)
        self.compiled_written = len(session.compiled)


def validation_error(report: ValidationReport) -> DataValidationError:
    """The first error as one line, then up to five offending rows."""
    first = report.errors[0]
    lines = [first.message]
    lines += [f"    {describe_row(r)}  [{r.get('problem')}]" for r in first.examples[1:]]
    if len(report.errors) > 1:
        lines.append(
            f"    ({len(report.errors) - 1} more failed check(s): see validation_summary.json)"
        )
    return DataValidationError("\n".join(lines))


# Everything a run writes; a rerun in the same directory clears these first (and nothing else).
RUN_ARTIFACTS = (
    "status.json", "run_spec.json", "compiled_sql", "validation_summary.json",
    "canonical_data.parquet", "column_info.json", "features.parquet", "feature_metadata.json",
    "feature_scaler.json", "posterior.nc", "posterior_summary.json", "model_metadata.json",
    "diagnostics.json", "loo.json", "contributions.parquet", "contribution_summary.json",
    "roi_metrics.json",
    "fitted.parquet", "fit_metrics.json", "manifest.json",
)  # fmt: skip


def run_pipeline(cfg: Any, run_dir: Path, echo: Callable[[str], None] = print) -> RunResult:
    """Run every stage; on any failure status.json says ERROR (with traceback) and it re-raises.

    The directory is locked for the run; artifacts of an earlier attempt there are removed
    first, so what the directory holds always belongs to one run.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        clear_previous_attempt(run_dir, RUN_ARTIFACTS)
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
    ctx.caches = configure_caches(cfg.sampler.cache_dir)
    plain = ctx.plain = to_plain(cfg)
    input_path = resolve_input_path(str(cfg.dataset.path))
    runtime = {"pid": os.getpid(), "host": socket.gethostname(), "run_dir": str(ctx.run_dir)}
    spec = {**plain, "resolved_input_path": str(input_path), "runtime": runtime}
    ctx.write("run_spec.json", write_json, spec)

    session = SqlSession()
    try:
        with ctx.timed("validate"):
            report = validate(session, input_path, cfg.dataset, cfg.features)
            ctx.flush_sql(session)
            ctx.write("validation_summary.json", write_json, report.summary)
            if report.errors:
                raise validation_error(report)
        for warning in report.summary["warnings"]:
            ctx.echo(f"warning: {warning}")
        ctx.status.advance("VALIDATED", f"{len(report.checks)} checks passed")

        with ctx.timed("canonicalize"):
            plan = report.plan
            assert plan is not None and report.grain is not None
            canonical = canonicalize(session, plan)
            ctx.flush_sql(session)
            ctx.write("canonical_data.parquet", write_parquet, canonical)
            ctx.write("column_info.json", write_json, {**plan.to_dict(), "grain": report.grain})
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
        ctx.write("features.parquet", write_parquet, features.to_frame())
        ctx.write("feature_metadata.json", write_json, feature_metadata(plain, features))
        ctx.write("feature_scaler.json", write_json, features.scaler_dict())
    ctx.status.advance("FEATURES_BUILT", f"{len(features.channel_names)} channels")

    ctx.status.advance("TRAINING", "sampling")
    fit = _train(ctx, features)
    ctx.status.advance("TRAINED", f"sampled in {fit.sampling_seconds:.1f}s")

    result = _outputs(ctx, fit, features, canonical, plan)
    ctx.write("manifest.json", write_json, build_manifest(ctx.run_dir, plain, input_path))
    ctx.status.advance("OUTPUTS_READY", "all artifacts written")
    return result


def feature_metadata(plain: dict[str, Any], features: FeatureSet) -> dict[str, Any]:
    return {
        "config": plain["features"],
        "blocks": features.blocks,
        "channel_decays": features.decays,
        "n_periods": len(features.target),
        "period_start": str(features.periods[0])[:10],
        "period_end": str(features.periods[-1])[:10],
    }


def _train(ctx: RunContext, features: FeatureSet) -> Any:
    cfg = ctx.cfg
    with ctx.timed("import_backend"):
        from mmm_runner.model.backends import fit as fit_backend
    with ctx.timed("train"):
        fit = fit_backend(features.training, cfg.model, cfg.sampler)
    with ctx.timed("write_posterior"):
        ctx.write(
            "posterior.nc", write_with, lambda p: fit.idata.to_netcdf(str(p), engine="h5netcdf")
        )
    ctx.timings["sampling"] = round(fit.sampling_seconds, 4)
    return fit


POSTERIOR_VARS = ["intercept", "beta", "gamma", "sigma_beta", "sigma", "nu"]


def _outputs(
    ctx: RunContext, fit: Any, features: FeatureSet, canonical: Any, plan: Any
) -> RunResult:
    from mmm_runner.analysis.contributions import contribution_report
    from mmm_runner.analysis.diagnostics import (
        diagnose,
        loo_report,
        posterior_summary,
        rounded_for_report,
    )
    from mmm_runner.analysis.fit_metrics import fitted_table, split_metrics
    from mmm_runner.analysis.intervals import HDI_PROB
    from mmm_runner.model.draws import Draws

    cfg = ctx.cfg
    var_names = [v for v in POSTERIOR_VARS if v in fit.idata.posterior]
    with ctx.timed("diagnostics"):
        summary = posterior_summary(fit.idata, var_names)
        table = rounded_for_report(summary).to_dict(orient="index")
        ctx.write(
            "posterior_summary.json",
            write_json,
            {"hdi_prob": HDI_PROB, "parameters": {str(k): v for k, v in table.items()}},
        )
        diagnostics = diagnose(fit.idata, summary)
        ctx.write("diagnostics.json", write_json, diagnostics)
        ctx.write("loo.json", write_json, loo_report(fit.idata))

    with ctx.timed("contributions"):
        draws = Draws.from_idata(fit.idata, len(features.control_names))
        n_fit = features.n_fit
        report = contribution_report(draws, features.training, canonical.iloc[:n_fit], plan)
        report.roi["converged"] = diagnostics["converged"]
        report.summary["converged"] = diagnostics["converged"]
        ctx.write("contributions.parquet", write_parquet, report.table)
        ctx.write("contribution_summary.json", write_json, report.summary)
        ctx.write("roi_metrics.json", write_json, report.roi)
        fitted = fitted_table(draws, features, int(cfg.sampler.random_seed))
        ctx.write("fitted.parquet", write_parquet, fitted)
        metrics = split_metrics(fitted)
        ctx.write("fit_metrics.json", write_json, metrics)

    ctx.write(
        "model_metadata.json",
        write_json,
        {
            "model": "SPEC §2: log1p(y) - m ~ likelihood(intercept + X_channels @ beta "
            "+ X_controls @ gamma, sigma); beta ~ beta prior scaled by sigma_beta",
            "priors": ctx.plain["model"],
            "sampler": ctx.plain["sampler"],
            "backend": fit.backend,
            "backend_details": {**fit.details, "caches": ctx.caches},
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
