"""Budget allocation over a finished run's posterior: `python -m mmm_runner.optimize <run_dir>`."""
