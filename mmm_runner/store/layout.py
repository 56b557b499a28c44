"""The run directory's table of contents: every artifact a run writes, in one place.

Each `Artifact` member is one row: file name (relative to the run directory), format, the stage
that writes it and what it holds. The format picks the atomic writer and the reader, so code
names `Artifact.ROI`, never "roi_metrics.json". On-disk names are a user-facing contract: a
rename here is a breaking change for every existing run directory.

Budget allocations (`python -m mmm_runner.optimize`) live under `optimizations/<name>/`; their
names are `OptimizationArtifact` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from mmm_runner.store.artifacts import (
    read_dir,
    read_json,
    read_netcdf,
    read_parquet,
    read_text,
    read_yaml,
    write_json,
    write_netcdf,
    write_parquet,
    write_text,
)

JsonObject: TypeAlias = dict[str, Any]  # a parsed JSON document; its schema is its writer's


class Format(StrEnum):
    JSON = "json"
    PARQUET = "parquet"
    NETCDF = "netcdf"
    TEXT = "text"
    YAML = "yaml"
    DIR = "dir"  # a folder of TEXT files


class Stage(StrEnum):
    """Who writes an artifact: a pipeline stage, or Hydra before the pipeline starts."""

    RUN = "run"  # rewritten at every stage
    SETUP = "setup"
    VALIDATE = "validate"
    CANONICALIZE = "canonicalize"
    FEATURES = "features"
    TRAIN = "train"
    DIAGNOSTICS = "diagnostics"
    CONTRIBUTIONS = "contributions"
    RESPONSE = "response"
    REPORT = "report"
    FINISH = "finish"
    HYDRA = "hydra"


class Artifact(Enum):
    """One row per artifact: (file name, format, stage that writes it, description)."""

    # fmt: off
    STATUS = ("status.json", Format.JSON, Stage.RUN,
              "Stage reached, progress, timestamps; ERROR with the traceback.")
    RUN_SPEC = ("run_spec.json", Format.JSON, Stage.SETUP,
                "The resolved config plus input path, pid and host.")
    COMPILED_SQL = ("compiled_sql", Format.DIR, Stage.VALIDATE,
                    "Every SQL statement run, as NN_<table>.sql, replayable in the DuckDB CLI.")
    VALIDATION_SUMMARY = ("validation_summary.json", Format.JSON, Stage.VALIDATE,
                          "Every data check, passed or not, with offending rows.")
    CANONICAL_DATA = ("canonical_data.parquet", Format.PARQUET, Stage.CANONICALIZE,
                      "Brand-level data, one row per period.")
    COLUMN_INFO = ("column_info.json", Format.JSON, Stage.CANONICALIZE,
                   "Column roles, driver/spend pairs and the grain.")
    ENTITY_DATA = ("entity_data.parquet", Format.PARQUET, Stage.CANONICALIZE,
                   "model.level=entity: the panel as fitted, one row per entity and period.")
    FEATURES = ("features.parquet", Format.PARQUET, Stage.FEATURES,
                "The model matrix: transformed channels, controls, seasonality, trend.")
    FEATURE_METADATA = ("feature_metadata.json", Format.JSON, Stage.FEATURES,
                        "Feature config, column blocks, channel decays, period range.")
    FEATURE_SCALER = ("feature_scaler.json", Format.JSON, Stage.FEATURES,
                      "Scaling constants, to put new data on the model's scale.")
    POSTERIOR = ("posterior.nc", Format.NETCDF, Stage.TRAIN,
                 "arviz InferenceData: posterior, sample stats, log likelihood.")
    POSTERIOR_SUMMARY = ("posterior_summary.json", Format.JSON, Stage.DIAGNOSTICS,
                         "Per parameter: mean, sd, HDI, R-hat, ESS.")
    DIAGNOSTICS = ("diagnostics.json", Format.JSON, Stage.DIAGNOSTICS,
                   "Convergence verdict with reasons and advice; R-hat, ESS, divergences.")
    LOO = ("loo.json", Format.JSON, Stage.DIAGNOSTICS,
           "PSIS-LOO: ELPD, SE, p_loo, pointwise ELPD and Pareto k.")
    CONTRIBUTIONS = ("contributions.parquet", Format.PARQUET, Stage.CONTRIBUTIONS,
                     "Per period: actual, fitted, baseline and each channel's contribution.")
    CONTRIBUTION_SUMMARY = ("contribution_summary.json", Format.JSON, Stage.CONTRIBUTIONS,
                            "Totals and shares per channel, with HDIs.")
    ROI = ("roi_metrics.json", Format.JSON, Stage.CONTRIBUTIONS,
           "ROAS and ROI per channel, with HDIs.")
    ENTITY_ROI = ("entity_roi_metrics.parquet", Format.PARQUET, Stage.CONTRIBUTIONS,
                  "model.level=entity: per entity and channel, spend, contribution, ROAS, HDIs.")
    ENTITY_CONTRIBUTIONS = ("entity_contributions.parquet", Format.PARQUET, Stage.CONTRIBUTIONS,
                            "model.level=entity: contributions.parquet per entity and period.")
    FITTED = ("fitted.parquet", Format.PARQUET, Stage.CONTRIBUTIONS,
              "Per period: actual vs predicted with its 94% interval; train/holdout split.")
    FIT_METRICS = ("fit_metrics.json", Format.JSON, Stage.CONTRIBUTIONS,
                   "MAPE, RMSE, R², interval coverage; the same for the holdout.")
    RESPONSE_CURVES = ("response_curves.parquet", Format.PARQUET, Stage.RESPONSE,
                       "Per channel and spend multiplier 0-2x: incremental target and ROAS, HDIs.")
    REPORT = ("report.html", Format.TEXT, Stage.REPORT,
              "One self-contained HTML page: fit, decomposition, ROAS, response curves.")
    MODEL_METADATA = ("model_metadata.json", Format.JSON, Stage.TRAIN,
                      "Model, priors, sampler, backend, versions, stage timings.")
    MANIFEST = ("manifest.json", Format.JSON, Stage.FINISH,
                "Config and input hashes, versions, git commit, every artifact's checksum.")
    HYDRA_CONFIG = (".hydra/config.yaml", Format.YAML, Stage.HYDRA,
                    "The composed config, as a reviewer reads it.")
    HYDRA_SETTINGS = (".hydra/hydra.yaml", Format.YAML, Stage.HYDRA,
                      "Hydra's own settings for the job.")
    HYDRA_OVERRIDES = (".hydra/overrides.yaml", Format.YAML, Stage.HYDRA,
                       "The command-line overrides of the job.")
    # fmt: on

    def __init__(self, filename: str, fmt: Format, stage: Stage, description: str) -> None:
        self.filename = filename
        self.format = fmt
        self.stage = stage
        self.description = description

    def path(self, run_dir: Path) -> Path:
        return Path(run_dir) / self.filename


class SweepArtifact(Enum):
    """Files a sweep (or `python -m mmm_runner.compare`) writes into the folder of runs."""

    LEADERBOARD_CSV = ("leaderboard.csv", Format.TEXT, "Ranked runs, one row each.")
    LEADERBOARD_MD = ("leaderboard.md", Format.TEXT, "The same table for a human or a PR.")
    LEADERBOARD_PARQUET = ("leaderboard.parquet", Format.PARQUET, "The same table, typed.")
    LEADERBOARD_HTML = ("leaderboard.html", Format.TEXT, "Ranked table and charts, offline HTML.")

    def __init__(self, filename: str, fmt: Format, description: str) -> None:
        self.filename = filename
        self.format = fmt
        self.description = description

    def path(self, root: Path) -> Path:
        return Path(root) / self.filename


OPTIMIZATIONS_DIR = "optimizations"


class OptimizationArtifact(Enum):
    """Files of one budget allocation, in `<run_dir>/optimizations/<name>/` (`optimization_dir`)."""

    # fmt: off
    ALLOCATION_JSON = ("budget_allocation.json", Format.JSON,
                       "Per channel current and optimal spend; expected target and uplift, HDIs.")
    ALLOCATION_MD = ("budget_allocation.md", Format.TEXT, "The same allocation for a human.")
    # fmt: on

    def __init__(self, filename: str, fmt: Format, description: str) -> None:
        self.filename = filename
        self.format = fmt
        self.description = description

    def path(self, folder: Path) -> Path:
        return Path(folder) / self.filename


def optimization_dir(run_dir: Path, name: str) -> Path:
    """Where the allocation called `name` of the run in `run_dir` lives."""
    return Path(run_dir) / OPTIMIZATIONS_DIR / name


# Written only by a model.level=entity run (a brand run writes every other row).
ENTITY_ONLY = (Artifact.ENTITY_DATA, Artifact.ENTITY_ROI, Artifact.ENTITY_CONTRIBUTIONS)

# What a rerun into the same directory clears first: everything except Hydra's files.
WRITTEN_BY_RUN = tuple(a for a in Artifact if a.stage is not Stage.HYDRA)


def compiled_sql_name(index: int, table: str) -> str:
    """Run-dir relative name of the index-th compiled statement (1-based, as executed)."""
    return f"{Artifact.COMPILED_SQL.filename}/{index:02d}_{table}.sql"


WRITERS: dict[Format, Callable[[Path, Any], Path]] = {
    Format.JSON: write_json,
    Format.PARQUET: write_parquet,
    Format.NETCDF: write_netcdf,
    Format.TEXT: write_text,
}
READERS: dict[Format, Callable[[Path], Any]] = {
    Format.JSON: read_json,
    Format.PARQUET: read_parquet,
    Format.NETCDF: read_netcdf,
    Format.TEXT: read_text,
    Format.YAML: read_yaml,
    Format.DIR: read_dir,
}
# What each format's writer accepts; anything else fails naming the artifact.
PAYLOADS: dict[Format, type | tuple[type, ...]] = {
    Format.JSON: (dict, list),
    Format.PARQUET: pd.DataFrame,
    Format.TEXT: str,
}


def write(
    run_dir: Path, artifact: Artifact | SweepArtifact | OptimizationArtifact, payload: object
) -> Path:
    """Write `payload` as `artifact` with its format's atomic writer (temp file + rename)."""
    name, fmt = artifact.filename, artifact.format
    if fmt not in WRITERS:
        raise TypeError(f"{name}: {fmt} artifacts are not written as one payload")
    if fmt is Format.NETCDF:
        ok = hasattr(payload, "to_netcdf")
    else:
        ok = isinstance(payload, PAYLOADS[fmt])
    if not ok:
        raise TypeError(f"{name}: a {fmt} artifact cannot be written from {type(payload).__name__}")
    return WRITERS[fmt](artifact.path(run_dir), payload)


def read(run_dir: Path, artifact: Artifact | SweepArtifact | OptimizationArtifact) -> Any:
    """The artifact parsed by its format's reader; None when the run did not write it."""
    path = artifact.path(run_dir)
    if not path.exists():
        return None
    return READERS[artifact.format](path)


def write_compiled_sql(run_dir: Path, index: int, table: str, text: str) -> str:
    """One statement into compiled_sql/; returns its run-dir relative name."""
    name = compiled_sql_name(index, table)
    write_text(Path(run_dir) / name, text)
    return name
