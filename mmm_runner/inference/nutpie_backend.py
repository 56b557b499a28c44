"""`sampler.backend=nutpie`: nutpie's Rust NUTS on a structure's native density, else its graph.

A structure with a hand-written density (numba, cached on disk) is sampled through it: no graph
compile at all. Priors outside that density's families fall back to nutpie compiling the
structure's PyMC graph, once per structure and shape per process (new data swap in).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from mmm_runner.config.schema import ModelConfig, SamplerConfig, to_plain, value_of
from mmm_runner.features.build import FeatureSet
from mmm_runner.inference.result import FitResult, nuts_settings, show_progress
from mmm_runner.model.structure import ModelStructure

if TYPE_CHECKING:  # numba loads only when a native density is actually used
    from mmm_runner.model.native_support import NativeDensity

# `diag`: variance-based mass-matrix adaptation (as Stan and PyMC). Measured on the sample, 2
# chains x 500 draws over 21 seeds: max R-hat >= 1.01 on 4 with it, on 8 with nutpie's
# gradient-based default and on 6 with its low-rank mass matrix (median 1.0076 / 1.0086 / 1.0077).
# `low_rank`: nutpie's diagonal plus low-rank correction, for correlated posteriors. `auto`: what
# the structure says its posterior suits (`ModelStructure.mass_matrix`).
MASS_MATRIX_SETTINGS: dict[str, dict[str, Any]] = {
    "diag": {"use_grad_based_mass_matrix": False},
    "low_rank": {"low_rank_modified_mass_matrix": True},
}


def mass_matrix_settings(choice: str, structure: ModelStructure) -> dict[str, Any]:
    """nutpie keyword arguments for `sampler.mass_matrix`, `auto` resolved by the structure."""
    if choice == "auto":
        choice = structure.mass_matrix()
    return {"mass_matrix": choice, **MASS_MATRIX_SETTINGS[choice]}


def native_model(
    structure: ModelStructure,
    features: FeatureSet,
    model_cfg: ModelConfig,
    density: NativeDensity,
) -> Any:
    """A nutpie compiled model whose logp is the structure's cached native C callback."""
    import pandas as pd
    from nutpie.compile_pymc import CompiledPyMCModel

    from mmm_runner.model.native_support import expand_callback

    names, slices, shapes, start = [], [], [], 0
    for name, shape in density.layout:
        size = int(np.prod(shape)) if shape else 1
        names.append(name)
        slices.append(slice(start, start + size))
        shapes.append(shape)
        start += size
    n_dim = density.n_dim
    center = density.initial_center

    def initial_point(seed: int) -> np.ndarray:
        """PyMC's jitter+adapt start: a central point, jittered uniformly by up to 1."""
        return center + np.random.default_rng(seed).uniform(-1.0, 1.0, n_dim)

    dims = {p.name: p.dims for p in structure.parameters(model_cfg) if p.dims}
    used = {d for names in dims.values() for d in names} | {"channel", "control"}
    coords = {
        name: pd.Index(values)
        for name, values in structure.coords(features).items()
        if name in used
    }
    coords["unconstrained_parameter"] = pd.Index([f"x_{i}" for i in range(n_dim)])
    return CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes=dict(zip(names, shapes, strict=True)),
        compiled_logp_func=density.logp_callback,
        compiled_expand_func=expand_callback,
        initial_point_func=initial_point,
        shared_data={},
        user_data=density.data,
        n_expanded=start,
        shape_info=(names, slices, shapes),
        logp_func=None,
        expand_func=None,
    )


_GRAPH_CACHE: dict[str, Any] = {}


def graph_model(
    structure: ModelStructure, features: FeatureSet, model_cfg: ModelConfig
) -> tuple[Any, bool]:
    """nutpie's compile of the structure's PyMC graph, once per shape; new data via with_data."""
    import nutpie

    key = json.dumps(
        [structure.name, _plain(model_cfg), features.channel_names, features.control_names,
         len(features.target), structure.dim_sizes(features),
         [t.fingerprint for t in structure.extra_terms]],
        sort_keys=True,
    )  # fmt: skip
    reused = key in _GRAPH_CACHE
    if not reused:
        _GRAPH_CACHE[key] = nutpie.compile_pymc_model(structure.build_pymc(features, model_cfg))
    return _GRAPH_CACHE[key].with_data(**structure.pymc_data(features)), reused


def _plain(model_cfg: ModelConfig) -> Any:
    try:
        return to_plain(model_cfg)
    except Exception:  # a plain namespace in notebooks
        return repr(model_cfg)


def sample_nutpie(
    structure: ModelStructure,
    features: FeatureSet,
    model_cfg: ModelConfig,
    sampler_cfg: SamplerConfig,
) -> FitResult:
    import nutpie

    start = time.perf_counter()
    # Extra terms (calibration) live in the graph only: the native density has none of them.
    density = None if structure.extra_terms else structure.native(features, model_cfg)
    if density is not None:
        compiled = native_model(structure, features, model_cfg, density)
        path, reused = "native", True
    else:
        compiled, reused = graph_model(structure, features, model_cfg)
        path = "pymc-graph"
    prepared = time.perf_counter()
    choice = value_of(getattr(sampler_cfg, "mass_matrix", "auto"))
    mass = mass_matrix_settings(choice, structure)
    idata = nutpie.sample(
        compiled,
        **nuts_settings(sampler_cfg),
        seed=int(sampler_cfg.random_seed),
        progress_bar=show_progress(),
        save_warmup=False,
        **{k: v for k, v in mass.items() if k != "mass_matrix"},
    )
    done = time.perf_counter()
    details = {
        "path": path,
        "compile_seconds": prepared - start,
        "compiled_model_reused": reused,
        "mass_matrix": mass["mass_matrix"],
    }
    return FitResult(idata, done - prepared, "nutpie", details)
