"""`python -m mmm_runner [group=option ...] [key=value ...]`: the Hydra entry point.

The only module that imports Hydra. It registers the schema, composes the config, and hands a
plain DictConfig and the Hydra-made run directory to `mmm_runner.pipeline.run_pipeline`.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.mmm_runner_conf.user_conf import MMMRunnerUserConf
from mmm_runner.config.schema import schema_node
from mmm_runner.errors import MMMError
from mmm_runner.resources import conf_dir
from mmm_runner.store.layout import Artifact
from mmm_runner.sweep.callback import SWEEP_SIZE_VARIABLE

ConfigStore.instance().store(name="run_schema", node=schema_node())
# `${pid:}` in the run-dir pattern: two runs started in the same microsecond still differ.
OmegaConf.register_new_resolver("pid", os.getpid, replace=True)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parallel_jobs(hydra_cfg: DictConfig) -> int:
    """How many jobs run at once on this machine: 1 for a single run or the basic launcher,
    else the launcher's n_jobs, at most one per core and at most the sweep's job count (so a
    3-job sweep on 8 cores gives each job 2 cores, not 1)."""
    launcher = hydra_cfg.launcher
    if (
        hydra_cfg.mode != RunMode.MULTIRUN
        or "joblib" not in str(launcher.get("_target_", "")).lower()
    ):
        return 1
    n_jobs = int(launcher.get("n_jobs") or 1)
    cpus = os.cpu_count() or 1
    jobs = cpus if n_jobs < 0 else min(n_jobs, cpus)
    sweep_size = os.environ.get(SWEEP_SIZE_VARIABLE, "")  # set by the leaderboard callback
    return min(jobs, int(sweep_size)) if sweep_size.isdigit() and int(sweep_size) > 0 else jobs


def share_cores(cfg: DictConfig, jobs: int) -> None:
    """Parallel jobs split the cores: no job's chains or BLAS threads oversubscribe them."""
    if jobs <= 1:
        return
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    if cfg.sampler.cores is None:
        cfg.sampler.cores = max(1, (os.cpu_count() or 1) // jobs)


# A user's own ./conf (or $MMM_RUNNER_CONF_DIR) goes ahead of the bundled conf/. Registered by hand:
# Hydra's plugin scan does not see hydra_plugins/ through an editable install.
Plugins.instance().register(MMMRunnerUserConf)


# An absolute path: "../conf" would point outside an installed wheel's package.
@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def main(cfg: DictConfig) -> str:
    """Run one job. In a multirun a failed job records ERROR and lets the sweep go on."""
    hydra_cfg = HydraConfig.get()
    share_cores(cfg, parallel_jobs(hydra_cfg))
    from mmm_runner.console import run_summary
    from mmm_runner.pipeline import run_pipeline

    run_dir = Path(hydra_cfg.runtime.output_dir)
    sweeping = hydra_cfg.mode == RunMode.MULTIRUN
    try:
        result = run_pipeline(cfg, run_dir)
    except MMMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(
            f"run directory: {run_dir} ({Artifact.STATUS.filename} has the details)",
            file=sys.stderr,
        )
        if sweeping:
            return "ERROR"
        sys.exit(1)
    except Exception:
        if not sweeping:
            raise
        traceback.print_exc()
        return "ERROR"
    print(run_summary(result))
    return result.stage


if __name__ == "__main__":
    main()
