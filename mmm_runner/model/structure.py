"""What every model structure provides, and everything derived from its one statement.

A structure (one module per structure: `fixed.py`, ...) states its parameters and its mean
function once. From those this base class builds the PyMC graph, the posterior variable list,
the per-draw predictions (fitted, baseline, contributions), the pointwise log-likelihood and
predictive draws. A hand-written native density (for speed) is tested against the PyMC graph.
How to add a structure: docs/architecture.md.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mmm_runner.config.schema import ModelConfig
from mmm_runner.features.build import FeatureSet
from mmm_runner.model.decomposition import Decomposition, decompose
from mmm_runner.model.likelihood import add_observed, noise_draws, pointwise_log_likelihood
from mmm_runner.model.parameters import Derived, Draws, Parameter, row_blocks
from mmm_runner.model.priors import (
    PriorSpec,
    check_priors,
    draw_prior,
    make_prior,
    prior_config,
    prior_spec,
)

# An array namespace: numpy for per-draw predictions, pytensor.tensor for the PyMC graph. The
# equations use only what both share: broadcasting arithmetic, `[..., None]`, exp, log, sum.
ArrayNamespace = Any

if TYPE_CHECKING:  # arviz is imported only where a posterior is handled
    from arviz import InferenceData


@dataclass
class Evaluation:
    """A structure's equations evaluated once per draw over one window: what every per-draw
    output (contributions, fit, response pieces) is derived from, so a run computes it once."""

    mu: np.ndarray  # (S, [E,] T) the mean on the model scale
    terms: np.ndarray  # (S, [E,] T, C) each channel's term over its zero-media level
    # the learned structures: h, its training-window mean and sd (the response pieces reuse them)
    media: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


class ModelStructure:
    """Base of every structure; subclasses fill in the parts marked 'structure states'."""

    name: ClassVar[str]
    description: ClassVar[str]
    contribution_method: ClassVar[str]
    # Named data arrays the equations read, with their dims (e.g. x_channels: period x channel).
    data_dims: ClassVar[dict[str, tuple[str, ...]]]
    # Extra terms of the joint density beyond the target's likelihood (lift tests and ROAS
    # priors, model/calibration.py), each with `add_to_graph(structure, params, data, features)`,
    # `graph_data(structure, features)` (its `pm.Data`) and a `fingerprint` (its graph's shape).
    # Empty for a plain run; a structure with terms samples its PyMC graph.
    extra_terms: tuple[Any, ...] = ()
    # Dims of the observed target (an entity panel: entity x period).
    observed_dims: ClassVar[tuple[str, ...]] = ("period",)

    # ---------------------------------------------------------------- the structure states
    def parameters(self, model_cfg: ModelConfig) -> tuple[Parameter, ...]:
        """Free parameters, in the order of the unconstrained vector."""
        raise NotImplementedError

    def derived(self, model_cfg: ModelConfig) -> tuple[Derived, ...]:
        """Deterministic quantities saved with the posterior (computed by `derive`)."""
        return ()

    def derive(self, name: str, params: Mapping[str, Any], model_cfg: ModelConfig) -> Any:
        raise KeyError(name)

    def model_data(self, features: FeatureSet) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def mean(self, params: Mapping[str, Any], data: Mapping[str, Any], xp: ArrayNamespace) -> Any:
        """mu on the model scale, shape (..., T) for parameters with leading batch axes."""
        raise NotImplementedError

    def channel_terms(
        self, params: Mapping[str, Any], data: Mapping[str, Any], xp: ArrayNamespace
    ) -> Any:
        """(..., T, C): each channel's term of `mean` over its zero-activity level."""
        raise NotImplementedError

    def native(self, features: FeatureSet, model_cfg: ModelConfig) -> Any | None:
        """The hand-written density (`model.native_support.NativeDensity`), or None."""
        return None

    def mass_matrix(self) -> str:
        """The NUTS mass matrix its posterior suits (`sampler.mass_matrix: auto`): `diag`, or
        `low_rank` when parameters are correlated by construction (a centred hierarchy)."""
        return "diag"

    def with_terms(self, *terms: Any) -> ModelStructure:
        """A copy whose graph adds `terms` (see `extra_terms`); no terms: this structure."""
        if not terms:
            return self
        copied = copy.copy(self)
        copied.extra_terms = (*self.extra_terms, *terms)
        return copied

    # ------------------------------------------------------- target scale (log1p, centred)
    def observed(self, features: FeatureSet) -> np.ndarray:
        """The target on the model scale."""
        return features.target_log_centered

    def to_original(self, values: np.ndarray, features: FeatureSet) -> np.ndarray:
        """Model-scale values back to the target's units."""
        return np.expm1(values + features.target_offset)

    def log_jacobian(self, features: FeatureSet) -> np.ndarray:
        """(T,) log |d model-scale / d target|: puts log-likelihoods on the target's scale, so
        ELPD compares structures with different target transforms (log1p here)."""
        return -np.log1p(features.target)

    def decompose(self, mu: np.ndarray, terms: np.ndarray, features: FeatureSet) -> Decomposition:
        """Log-space structures: the proportional split of the lift (docs/model.md)."""
        return decompose(mu, terms, features.target_offset)

    # ----------------------------------------------------------------------- derived parts
    def check(self, model_cfg: ModelConfig) -> None:
        """Fail on a malformed prior before any work (no PyMC import)."""
        check_priors(model_cfg, self.parameters(model_cfg))

    @staticmethod
    def dim_sizes(features: FeatureSet) -> dict[str, int]:
        return {
            "channel": len(features.channel_names),
            "control": len(features.control_names),
            "period": len(features.target),
        }

    def parameter_count(self, model_cfg: ModelConfig, dim_sizes: Mapping[str, int]) -> int:
        """Number of scalar parameters (the data layer asks for 2x this many periods)."""
        return sum(p.size(dim_sizes) for p in self.parameters(model_cfg))

    def coords(self, features: FeatureSet) -> dict[str, Any]:
        """Coordinates of the PyMC graph's dims."""
        return {
            "channel": features.channel_names,
            "control": features.control_names,
            "period": np.arange(len(features.target)),
        }

    def variables(self, model_cfg: ModelConfig) -> tuple[Parameter | Derived, ...]:
        """Every posterior variable: free parameters, then derived ones."""
        return (*self.parameters(model_cfg), *self.derived(model_cfg))

    def prior(self, param: Parameter, model_cfg: ModelConfig, features: FeatureSet) -> PriorSpec:
        """A parameter's prior: its `{dist, params}` config line, unless the structure derives it
        from the feature config (a structure overrides this for `prior_key=None` parameters)."""
        if param.prior_key is None:
            raise NotImplementedError(f"{self.name} states no prior for {param.name}")
        dist, params = prior_spec(prior_config(model_cfg, param.prior_key))
        return PriorSpec(dist, dict(params), param.prior_key)

    def prior_links(self, param: Parameter, params: Mapping[str, Any]) -> dict[str, Any]:
        """Prior arguments taken from other parameters in the graph (shrinkage: sigma)."""
        return {"sigma": params[param.scale_from]} if param.scale_from else {}

    def build_pymc(self, features: FeatureSet, model_cfg: ModelConfig) -> Any:
        """The `pm.Model` of this structure; data enter as `pm.Data` so new data need no rebuild."""
        import pymc as pm
        import pytensor.tensor as pt

        sizes = self.dim_sizes(features)
        with pm.Model(coords=self.coords(features)) as model:
            data = {
                name: pm.Data(name, value, dims=self.data_dims[name])
                for name, value in self.model_data(features).items()
            }
            y = pm.Data("y", self.observed(features), dims=self.observed_dims)
            params: dict[str, Any] = {}
            for param in self.parameters(model_cfg):
                if param.size(sizes) == 0:  # e.g. no controls: the block is absent
                    params[param.name] = pt.zeros(param.shape(sizes))
                    continue
                scale = self.prior_links(param, params)
                params[param.name] = make_prior(
                    param.name,
                    self.prior(param, model_cfg, features),
                    dims=param.dims or None,
                    **scale,
                )
            for var in self.derived(model_cfg):
                value = self.derive(var.name, params, model_cfg)
                params[var.name] = pm.Deterministic(var.name, value, dims=var.dims or None)
            add_observed(self.mean(params, data, pt), y, params, model_cfg, self.observed_dims)
            for term in self.extra_terms:
                term.add_to_graph(self, params, data, features)
        return model

    def prior_draws(
        self, model_cfg: ModelConfig, features: FeatureSet, n: int, seed: int = 0
    ) -> dict[str, np.ndarray]:
        """n draws of every parameter from its prior, in numpy (families draw_prior knows)."""
        rng = np.random.default_rng(seed)
        sizes = self.dim_sizes(features)
        draws: dict[str, np.ndarray] = {}
        for param in self.parameters(model_cfg):
            scale = draws.get(param.scale_from) if param.scale_from else None
            if param.scale_from and scale is None:
                continue
            if scale is not None:
                scale = scale.reshape(n, *([1] * len(param.dims)))
            spec = self.prior(param, model_cfg, features)
            value = draw_prior(spec, (n, *param.shape(sizes)), rng, scale)
            if value is not None:
                draws[param.name] = value
        return draws

    def pymc_data(self, features: FeatureSet) -> dict[str, np.ndarray]:
        """Every `pm.Data` value of the graph, by name (to swap data into a compiled graph)."""
        values = {**self.model_data(features), "y": self.observed(features)}
        for term in self.extra_terms:
            values.update(term.graph_data(self, features))
        return values

    def draws(self, idata: InferenceData, model_cfg: ModelConfig, features: FeatureSet) -> Draws:
        return Draws.from_idata(idata, self.variables(model_cfg), self.dim_sizes(features))

    def derived_draws(
        self, posterior: Mapping[str, np.ndarray], model_cfg: ModelConfig
    ) -> dict[str, np.ndarray]:
        """Derived variables computed from sampled arrays (backends that do not compute them)."""
        return {v.name: self.derive(v.name, posterior, model_cfg) for v in self.derived(model_cfg)}

    def mu(self, draws: Draws, features: FeatureSet) -> np.ndarray:
        """(S, T) mean on the model scale, per draw."""
        return self.mean(draws.values, self.model_data(features), np)

    def evaluate(self, draws: Draws, features: FeatureSet) -> Evaluation:
        """`mean` and `channel_terms` per draw over `features`' periods."""
        data = self.model_data(features)
        return Evaluation(
            self.mean(draws.values, data, np), self.channel_terms(draws.values, data, np)
        )

    def predict(
        self, draws: Draws, features: FeatureSet, evaluation: Evaluation | None = None
    ) -> Decomposition:
        """Per draw and period: fitted, baseline and channel contributions, original scale.

        `evaluation`: `self.evaluate(draws, features)` when the caller already has it."""
        evaluation = evaluation or self.evaluate(draws, features)
        return self.decompose(evaluation.mu, evaluation.terms, features)

    def log_likelihood(self, draws: Draws, features: FeatureSet) -> np.ndarray:
        """(S, T) pointwise log-likelihood of the target on its original scale (for LOO)."""
        model_scale = pointwise_log_likelihood(
            self.mu(draws, features), self.observed(features), draws["sigma"], draws.get("nu")
        )
        return model_scale + self.log_jacobian(features)

    def brand_level(self, values: np.ndarray, features: FeatureSet) -> np.ndarray:
        """(S, T) model-scale values (S, [E,] T) in the target's units, summed over entities."""
        if len(self.observed_dims) == 1:
            return self.to_original(values, features)
        out = np.empty((len(values), values.shape[-1]))
        for rows in row_blocks(len(values), values[0].size):
            out[rows] = self.to_original(values[rows], features).sum(-2)
        return out

    def predictive_level(
        self, draws: Draws, mu: np.ndarray, features: FeatureSet, rng: np.random.Generator
    ) -> np.ndarray:
        """(S, T) posterior predictive draws of the target around `mu` (`self.mu`), summed over
        entities: each entity and period its own noise."""
        out = np.empty((len(mu), mu.shape[-1]))
        for rows, block in draws.blocks(mu[0].size):
            # block by block, the same random stream as all draws at once
            noise = noise_draws(block, (block.n_samples, mu[0].size), rng)
            out[rows] = self.brand_level(mu[rows] + noise.reshape(mu[rows].shape), features)
        return out

    def predictive(
        self, draws: Draws, features: FeatureSet, rng: np.random.Generator
    ) -> np.ndarray:
        """(S, T) posterior predictive draws of the target, original scale."""
        return self.predictive_level(draws, self.mu(draws, features), features, rng)

    def fitted_level(self, draws: Draws, features: FeatureSet) -> np.ndarray:
        """(S, T) the expected level without noise, original scale."""
        return self.brand_level(self.mu(draws, features), features)
