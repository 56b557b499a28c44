"""Pydantic models of every request and response: `/docs` and `/openapi.json` show these.

Requests forbid unknown keys (a typo such as `drawz` is a 422 naming it). Responses that carry a
run artifact name the fields clients rely on and pass the rest of the document through
(`extra="allow"`): the artifact's writer owns its schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from mmm_runner.api.storage import ID_PATTERN

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
PresetName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ChannelKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]


def _no_interpolation(value: str) -> str:
    """A client string reaches Hydra quoted; `${...}` would still be resolved there."""
    if "${" in value or any(ord(c) < 32 for c in value):
        raise ValueError("must not contain '${' or control characters")
    return value


ColumnName = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(_no_interpolation)
]
Override = Annotated[
    str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_no_interpolation)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Document(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---- requests ---------------------------------------------------------------------------------


class AdstockSpec(Strict):
    decay_default: float | None = None
    per_channel: dict[ChannelKey, float] | None = None
    max_lag: int | None = None


class SaturationSpec(Strict):
    enabled: bool | None = None
    type: Literal["hill", "logistic"] | None = None
    K: float | None = None
    S: float | None = None


class SeasonalitySpec(Strict):
    enabled: bool | None = None
    K: int | None = None


class TrendSpec(Strict):
    enabled: bool | None = None


class FeatureSpec(Strict):
    """`features.*` of the run config; keys left out keep the preset's value."""

    adstock: AdstockSpec | None = None
    saturation: SaturationSpec | None = None
    seasonality: SeasonalitySpec | None = None
    trend: TrendSpec | None = None


RUN_SPEC_EXAMPLE = {
    "dataset_id": "my_dataset",
    "grain": "WEEK",
    "target_col": "sales",
    "drivers": ["act_tv", "act_digital", "act_radio"],
    "controls": ["ctrl_price"],
    "feature_config": {"adstock": {"decay_default": 0.5, "per_channel": {"act_tv": 0.7}}},
    "sampler": "fast",
    "random_seed": 42,
    "model": "default",
    "overrides": ["model.decay.concentration=4"],
}


class RunSpec(Strict):
    """One run: becomes Hydra overrides of the config `python -m mmm_runner` composes.

    Every key but `dataset_id` is optional. Dataset keys left out mean: grain `auto`, the target
    column given at upload, every `act_*` driver and every `ctrl_*` control. Sampler and model
    keys left out keep the preset's value (`sampler`, `model`: a conf/ option such as `fast`).
    `overrides` takes any other `features.*`, `sampler.*`, `model.*` or `dataset.*` key as on
    the command line.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RUN_SPEC_EXAMPLE]})

    dataset_id: Id
    grain: Literal["auto", "WEEK", "MONTH"] | None = None
    target_col: ColumnName | None = None
    drivers: list[ColumnName] | None = None
    controls: list[ColumnName] | None = None
    date_format: ColumnName | None = None
    holdout_periods: int | None = None
    feature_config: FeatureSpec | None = None
    sampler: PresetName | None = Field(None, description="sampler preset: fast, default, ...")
    model: PresetName | None = Field(None, description="model preset: default, additive, fixed")
    calibration: PresetName | None = Field(
        None, description="calibration preset (conf/calibration/): lift tests to agree with"
    )
    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    target_accept: float | None = None
    random_seed: int | None = None
    overrides: list[Override] = Field(default_factory=list, max_length=100)


class OptimizeRequest(Strict):
    """Budget optimizer settings (`optimizer.*` of conf/optimizer/default.yaml); keys left out
    keep that file's value."""

    budget: float | None = Field(None, description="total budget; null: the historical total")
    budget_change: float | None = Field(None, description="e.g. 0.1 = 10% more than history")
    bounds: tuple[float, float] | None = Field(None, description="spend multipliers [lo, hi]")
    channel_bounds: dict[ChannelKey, tuple[float, float]] | None = Field(
        None, description='per channel bounds, e.g. {"act_tv": [0.8, 1.2]}'
    )
    objective: Literal["mean", "mean_minus_sd", "cvar"] | None = None
    risk_aversion: float | None = Field(None, description="mean_minus_sd: weight of the sd")
    alpha: float | None = Field(None, description="cvar: share of worst draws averaged")
    horizon: int | None = Field(None, description="null: the historical window; N periods")
    name: Id | None = Field(None, description="folder under the run's optimizations/")


# ---- responses --------------------------------------------------------------------------------


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: body.drawz, path.run_id, query.dataset_id")
    msg: str
    type: str


class ApiError(BaseModel):
    """Every 4xx/5xx body: `detail` is one readable line naming the key; no traceback ever."""

    detail: str
    errors: list[FieldError] | None = Field(None, description="per key, for request errors")
    validation_summary: dict[str, Any] | None = Field(
        None, description="an upload that failed validation: every check"
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiError, "description": "MMM_RUNNER_API_KEY is set: wrong or missing key"},
    404: {"model": ApiError, "description": "unknown id, or the run has not written it"},
    422: {"model": ApiError, "description": "a bad key or value, named in `detail`"},
}


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str | None
    runs_running: int
    runs_queued: int
    max_concurrent_runs: int
    auth_required: bool


class ValidationCheck(Document):
    name: str
    passed: bool
    severity: str
    message: str = ""
    n_offending: int | None = None
    examples: list[dict[str, Any]] = Field(default_factory=list)


class ColumnPlan(Document):
    target: str
    drivers: list[str]
    controls: list[str]
    roles: dict[str, str] = Field(default_factory=dict)
    pairs: list[dict[str, Any]] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list)


class ValidationSummary(Document):
    """validation_summary.json: every data check, passed or not, with offending rows."""

    passed: bool
    grain: str | None = None
    n_periods: int | None = None
    n_entities: int | None = None
    date_range: dict[str, str | None] | None = None
    columns: ColumnPlan | None = None
    checks: list[ValidationCheck] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class DatasetInfo(BaseModel):
    dataset_id: str
    filename: str = Field(description="the uploaded file's name, for display")
    format: Literal["csv", "parquet"]
    bytes: int
    sha256: str
    uploaded_at: str
    target_col: str
    date_format: str
    grain: str | None
    n_periods: int | None
    n_entities: int | None
    date_range: dict[str, str | None] | None
    in_use_by: list[str] = Field(default_factory=list, description="live runs reading it")


class DatasetUploaded(BaseModel):
    dataset: DatasetInfo
    validation: ValidationSummary


class DatasetDetail(BaseModel):
    dataset: DatasetInfo
    validation: ValidationSummary


class DatasetList(BaseModel):
    datasets: list[DatasetInfo]


class ColumnInfo(BaseModel):
    name: str
    role: str = Field(description="target, driver_activity, spend, control, key or ignored")
    n_rows: int | None = None
    n_missing: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    mean_value: float | None = None


class DatasetColumns(BaseModel):
    dataset_id: str
    columns: list[ColumnInfo]
    plan: ColumnPlan | None


class Deleted(BaseModel):
    id: str
    deleted: bool = True
    cancelled: bool = False
    status: RunStatusResponse | None = None


class RunErrorInfo(BaseModel):
    type: str
    message: str
    last_stage_reached: str | None


class RunStatusResponse(BaseModel):
    """status.json without the traceback (it stays in the run directory)."""

    run_id: str
    stage: str | None
    progress: float
    message: str
    stages: dict[str, str]
    updated_at: str | None
    queue_position: int | None = Field(None, description="1 = next to start; null when started")
    error: RunErrorInfo | None = None


class RunCreated(BaseModel):
    run_id: str
    status: RunStatusResponse
    overrides: list[str]


class RunInfo(BaseModel):
    run_id: str
    dataset_id: str | None
    created_at: str | None
    stage: str | None
    progress: float
    message: str
    queue_position: int | None = None
    converged: bool | None = None


class RunList(BaseModel):
    runs: list[RunInfo]


class RunSpecResponse(BaseModel):
    run_id: str
    spec: dict[str, Any] | None = Field(description="the run spec as submitted")
    overrides: list[str] = Field(description="the Hydra overrides it became")
    config: dict[str, Any] | None = Field(description="the composed config, once the run began")


class Interval(Document):
    mean: float | None
    sd: float | None
    hdi_lower: float | None
    hdi_upper: float | None
    hdi_prob: float | None


class ChannelRoi(Document):
    spend_column: str | None = None
    spend_total: float | None = None
    contribution_total: float | None = None
    roas: Interval | None = None
    roi: Interval | None = None
    note: str | None = None


class RoiResponse(Document):
    """roi_metrics.json."""

    channels: dict[str, ChannelRoi]
    converged: bool | None = None


class DiagnosticsResponse(Document):
    """diagnostics.json."""

    converged: bool
    max_rhat: float | None = None
    min_ess_bulk: float | None = None
    divergences: int
    reasons: list[str] = Field(default_factory=list)
    advice: list[str] = Field(default_factory=list)


class PosteriorSummaryResponse(Document):
    """posterior_summary.json: per parameter mean, sd, HDI, R-hat, ESS."""

    hdi_prob: float
    parameters: dict[str, dict[str, float | None]]


class Table(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]


class ContributionsResponse(Table):
    summary: dict[str, Any] | None = Field(description="contribution_summary.json")


class FittedResponse(Table):
    fit_metrics: dict[str, Any] | None = Field(description="fit_metrics.json")


class ChannelSummary(BaseModel):
    spend_total: float | None
    roas: Interval | None
    roi: Interval | None
    share_of_incremental: Interval | None


class RunSummary(BaseModel):
    run_id: str
    stage: str | None
    converged: bool | None
    max_rhat: float | None
    divergences: int | None
    elpd_loo: float | None
    elpd_loo_se: float | None
    mape: float | None
    r2: float | None
    holdout_mape: float | None
    channels: dict[str, ChannelSummary]
    advice: list[str]


class OptimizeResponse(Document):
    """budget_allocation.json of the optimizer."""


Deleted.model_rebuild()
