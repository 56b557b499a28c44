"""`python -m mmm_runner.optimize <run_dir> [optimizer.key=value ...] [name=<folder>]`.

A Hydra app over `conf/optimize.yaml` and the `conf/optimizer/` group, schema-checked like the
run's groups (`mmm_runner/config/optimizer.py`). The positional run directory becomes the
`run_dir=` override; the work is `mmm_runner.optimize.run.optimize_run`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.mmm_runner_conf.user_conf import MMMRunnerUserConf
from mmm_runner.config.optimizer import check_optimizer, optimize_schema_node
from mmm_runner.errors import MMMError
from mmm_runner.resources import conf_dir

ConfigStore.instance().store(name="optimize_schema", node=optimize_schema_node())
Plugins.instance().register(MMMRunnerUserConf)  # a user's ./conf/optimizer/*.yaml, as the run CLI
USAGE = "usage: python -m mmm_runner.optimize <run_dir> [optimizer.key=value ...] [name=<folder>]"


def with_run_dir_override(args: list[str]) -> list[str]:
    """The first argument, when it is neither a flag nor an override, is the run directory."""
    if args and not args[0].startswith("-") and "=" not in args[0]:
        quoted = args[0].replace("'", "\\'")
        return [f"run_dir='{quoted}'", *args[1:]]
    return args


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="optimize")
def main(cfg: DictConfig) -> None:
    if OmegaConf.is_missing(cfg, "run_dir"):
        print(f"error: run_dir: which run to optimize?\n{USAGE}", file=sys.stderr)
        sys.exit(2)
    try:
        check_optimizer(cfg.optimizer, cfg.name)  # before the heavier imports below
        from mmm_runner.optimize.run import optimize_run

        doc = optimize_run(Path(cfg.run_dir), cfg.optimizer, cfg.name)
    except MMMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    from mmm_runner.optimize.document import allocation_table, summary_lines
    from mmm_runner.store.layout import OptimizationArtifact, optimization_dir

    folder = optimization_dir(Path(cfg.run_dir), doc["name"])
    budget = doc["budget"]
    lines = [
        f"mmm_runner.optimize: {doc['objective']['definition']}",
        f"plan: {doc['window']['description']}",
        f"budget: {budget['current_total']:,.0f} now -> {budget['optimal_total']:,.0f}",
        *allocation_table(doc),
        *summary_lines(doc),
        *(f"warning: {w}" for w in doc["warnings"]),
        f"wrote {OptimizationArtifact.ALLOCATION_JSON.path(folder)} and "
        f"{OptimizationArtifact.ALLOCATION_MD.filename}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    sys.argv[1:] = with_run_dir_override(sys.argv[1:])
    main()
