"""mmm_runner: a config-driven Bayesian Marketing Mix Modeling engine.

Data flows one way: config -> data (DuckDB SQL) -> features -> model -> analysis -> outputs.
Only `mmm_runner.pipeline` touches a run directory; only `mmm_runner.__main__` imports Hydra.
"""

__version__ = "0.1.0"
