"""The typed schema of every config group.

Hydra validates the composed YAML against these dataclasses (see `mmm_runner.__main__`), so an
unknown key or a wrong type fails before any work starts. A notebook builds the same object with
`OmegaConf.structured(RunConfig(dataset=DatasetConfig(name=..., path=...)))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from mmm_runner.config.calibration import CalibrationConfig


class Grain(StrEnum):
    """Time grain of the data; `auto` trusts what the data shows."""

    auto = "auto"
    WEEK = "WEEK"
    MONTH = "MONTH"


class SaturationType(StrEnum):
    """Saturation family; both are parametrised by the half-saturation point K."""

    hill = "hill"
    logistic = "logistic"


class BetaParametrization(StrEnum):
    """`centered`: beta ~ F(sigma_beta); `non_centered`: beta = sigma_beta * beta_raw, raw ~ F(1).

    The same model; centred mixes better when the data pin channel effects down, non-centred
    when they are weak (the funnel)."""

    centered = "centered"
    non_centered = "non_centered"


class EntityParametrization(StrEnum):
    """How `model.level=entity` samples each entity's effect around the channel's (the same model).

    `auto` picks from the data before sampling (model/entity.py, `choose_parametrization`)."""

    auto = "auto"
    centered = "centered"
    non_centered = "non_centered"


class Structure(StrEnum):
    """Model structure (a module in mmm_runner/model/): how media enter the model."""

    fixed = "fixed"
    learned = "learned"
    additive = "additive"


class Level(StrEnum):
    """What is fitted: `brand` sums the entity panel per period; `entity` keeps entity x period
    with per-entity intercepts and partially pooled channel effects (model/entity.py)."""

    brand = "brand"
    entity = "entity"


class Likelihood(StrEnum):
    StudentT = "StudentT"
    Normal = "Normal"


class Backend(StrEnum):
    nutpie = "nutpie"
    pymc = "pymc"
    numpyro = "numpyro"


class MassMatrix(StrEnum):
    """nutpie's mass-matrix adaptation: `auto` takes the one the structure's posterior suits."""

    auto = "auto"
    diag = "diag"
    low_rank = "low_rank"


@dataclass
class DatasetConfig:
    name: str = MISSING
    path: str = MISSING
    grain: Grain = Grain.auto
    target_col: str = "sales"
    drivers: list[str] = field(default_factory=list)  # empty: every act_* column
    controls: list[str] = field(default_factory=list)  # empty: every ctrl_* column
    date_format: str = "%Y-%m-%d"
    holdout_periods: int = 0  # the last N periods are kept out of the fit and forecast
    # model.level=entity: target and media per capita (Meridian's population scaling); null: none
    population_col: str | None = None


@dataclass
class AdstockConfig:
    decay_default: float = 0.5
    per_channel: dict[str, float] = field(default_factory=dict)
    max_lag: int = 13


@dataclass
class SaturationConfig:
    enabled: bool = True
    type: SaturationType = SaturationType.hill
    K: float = 0.5
    S: float = 1.0


@dataclass
class SeasonalityConfig:
    enabled: bool = True
    K: int = 2


@dataclass
class TrendConfig:
    enabled: bool = True


@dataclass
class FeaturesConfig:
    adstock: AdstockConfig = field(default_factory=AdstockConfig)
    saturation: SaturationConfig = field(default_factory=SaturationConfig)
    seasonality: SeasonalityConfig = field(default_factory=SeasonalityConfig)
    trend: TrendConfig = field(default_factory=TrendConfig)


@dataclass
class SamplerConfig:
    draws: int = 1000
    tune: int = 1000
    chains: int = 2
    # draws per chain at model.level=entity (None: `draws`): hundreds of parameters each get an
    # R-hat, and the largest crosses 1.01 by chance at 500 draws per chain (benchmarks/RESULTS.md)
    entity_draws: int | None = None
    target_accept: float = 0.9
    random_seed: int = 42
    backend: Backend = Backend.nutpie
    cores: int | None = None  # None: one process per chain up to the machine's cores
    mass_matrix: MassMatrix = MassMatrix.auto  # nutpie only (inference/nutpie_backend.py)
    cache_dir: str | None = None  # compile caches; None: $MMM_RUNNER_CACHE_DIR or ~/.cache


@dataclass
class PriorConfig:
    """One prior: a PyMC distribution family and its parameters, e.g. Normal(mu=0, sigma=2)."""

    dist: str = MISSING
    params: dict[str, float] = field(default_factory=dict)


def _prior(dist: str, **params: float) -> Any:
    return field(default_factory=lambda: PriorConfig(dist=dist, params=dict(params)))


@dataclass
class DecayPriorConfig:
    """decay_c ~ Beta(mean * concentration, (1 - mean) * concentration), mean = the channel's
    decay in features.adstock; concentration 2 with mean 0.5 is Uniform(0, 1)."""

    concentration: float = 3.0


@dataclass
class HalfSaturationPriorConfig:
    """K_c ~ LogNormal(log(features.saturation.K), sigma)."""

    sigma: float = 0.7


@dataclass
class SlopePriorConfig:
    """Hill slope: features.saturation.S, or S_c ~ LogNormal(log S, sigma) when learned."""

    learn: bool = False
    sigma: float = 0.3


@dataclass
class ModelConfig:
    """The structure and its priors; `beta` takes its scale from `sigma_beta` (shrinkage)."""

    structure: Structure = Structure.fixed
    level: Level = Level.brand
    likelihood: Likelihood = Likelihood.StudentT
    beta_parametrization: BetaParametrization = BetaParametrization.centered
    intercept: PriorConfig = _prior("Normal", mu=0.0, sigma=2.0)
    sigma_beta: PriorConfig = _prior("HalfNormal", sigma=0.5)
    beta: PriorConfig = _prior("HalfNormal")
    gamma: PriorConfig = _prior("Normal", mu=0.0, sigma=0.5)
    sigma: PriorConfig = _prior("HalfNormal", sigma=1.0)
    nu: PriorConfig = _prior("Exponential", lam=0.1)
    # Learned structures only: the strength of the feature config's beliefs.
    decay: DecayPriorConfig = field(default_factory=DecayPriorConfig)
    half_saturation: HalfSaturationPriorConfig = field(default_factory=HalfSaturationPriorConfig)
    slope: SlopePriorConfig = field(default_factory=SlopePriorConfig)
    # A prior on a channel's ROAS instead of its beta (docs/model.md, "Calibration"), by channel:
    # `roas_prior: {act_tv: {dist: LogNormal, params: {mu: 0.7, sigma: 0.3}}}`.
    # Values are `{dist, params}` as PriorConfig (untyped here: OmegaConf cannot build a
    # dataclass value of an open map from an override); config/checks.py checks their keys.
    roas_prior: dict[str, Any] = field(default_factory=dict)
    # level=entity only: spread of log channel effects across entities, and the controls block.
    tau: PriorConfig = _prior("HalfNormal", sigma=0.3)
    controls_by_entity: bool = False
    entity_parametrization: EntityParametrization = EntityParametrization.auto
    # auto fills it before sampling: per channel, centred (true) or not; empty: one form for all
    entity_centred: dict[str, bool] = field(default_factory=dict)


@dataclass
class RunConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)


def to_plain(cfg: RunConfig | DictConfig | object) -> dict[str, Any]:
    """A resolved, JSON-ready dict of a config (DictConfig or dataclass)."""
    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.structured(cfg)
    plain = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    assert isinstance(plain, dict)
    return {str(k): v for k, v in plain.items()}


def value_of(setting: Any) -> str:
    """The plain string of an enum-typed setting (OmegaConf hands back Enum members)."""
    return str(getattr(setting, "value", setting))


def schema_node() -> DictConfig:
    """The schema Hydra validates against, with the open maps left open.

    Struct mode (unknown keys fail) must not stop `features.adstock.per_channel.act_tv=0.7`:
    per-channel maps take any channel name, so only they are opened.
    """
    node = OmegaConf.structured(RunConfig)
    OmegaConf.set_struct(node.features.adstock.per_channel, False)
    OmegaConf.set_struct(node.model.roas_prior, False)
    return node
