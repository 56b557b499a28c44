"""`POST /outputs/{id}/optimize`: the budget optimizer of `python -m mmm_runner.optimize`.

The request's settings become `optimizer.<key>=<value>` overrides of the same `conf/optimize.yaml`
the optimizer's CLI composes (its schema names a bad key), then
`mmm_runner.optimize.run.optimize_run` runs in a thread: it reads the finished run, refits
nothing, and writes `optimizations/<name>/` into the run directory. Imported on first use, so the
server starts (and answers 501 here) in an install without the optimizer.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmm_runner.api.runspec import compose, quote
from mmm_runner.api.schemas import OptimizeRequest

OPTIMIZER = ("mmm_runner.optimize.run", "optimize_run")
SCHEMA = ("mmm_runner.config.optimizer", "optimize_schema_node", "optimize_schema")


class OptimizerUnavailable(Exception):
    """This install has no budget optimizer."""


def optimizer() -> Callable[..., dict[str, Any]]:
    """The optimizer's entry point, with its schema registered for composition."""
    try:
        function = getattr(importlib.import_module(OPTIMIZER[0]), OPTIMIZER[1])
        schema = getattr(importlib.import_module(SCHEMA[0]), SCHEMA[1])
    except (ImportError, AttributeError) as exc:
        raise OptimizerUnavailable(
            f"the budget optimizer ({'.'.join(OPTIMIZER)}) is not available: {exc}"
        ) from None
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA[2], node=schema())
    return function


def optimizer_overrides(request: OptimizeRequest, run_dir: Path) -> list[str]:
    """`optimizer.<key>=<value>` for each key the client set (JSON values are Hydra values)."""
    out = [f"run_dir={quote(str(run_dir))}"]
    settings = request.model_dump(exclude_none=True, mode="json")
    name = settings.pop("name", None)
    if name:
        out.append(f"name={name}")
    for key, value in settings.items():
        if isinstance(value, dict):  # channel_bounds: one override per channel
            out += [f"optimizer.{key}.{k}={json.dumps(v)}" for k, v in value.items()]
        elif isinstance(value, str):
            out.append(f"optimizer.{key}={quote(value)}")
        else:
            out.append(f"optimizer.{key}={json.dumps(value)}")
    return out


def run_optimizer(run_dir: Path, request: OptimizeRequest) -> dict[str, Any]:
    """The allocation document; ConfigError/MMMError as the optimizer raises them."""
    optimize_run = optimizer()
    cfg = compose("optimize", optimizer_overrides(request, run_dir))
    return optimize_run(run_dir, cfg.optimizer, cfg.name)
