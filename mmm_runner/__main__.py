"""`python -m mmm_runner [group=option ...] [key=value ...]`: the Hydra entry point.

The only module that imports Hydra. It registers the schema, composes the config, and hands a
plain DictConfig and the Hydra-made run directory to `mmm_runner.pipeline.run_pipeline`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from mmm_runner.config.schema import RunConfig
from mmm_runner.errors import MMMError

ConfigStore.instance().store(name="run_schema", node=RunConfig)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> str:
    """Run one job; in a multirun a failed job reports ERROR and lets the sweep go on."""
    from mmm_runner.console import run_summary
    from mmm_runner.pipeline import run_pipeline

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        result = run_pipeline(cfg, run_dir)
    except MMMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"run directory: {run_dir} (status.json has the details)", file=sys.stderr)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            return "ERROR"
        sys.exit(1)
    print(run_summary(result))
    return result.stage


if __name__ == "__main__":
    main()
