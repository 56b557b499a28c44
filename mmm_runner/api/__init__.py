"""The REST service: the same engine behind HTTP (`python -m mmm_runner.api`)."""
