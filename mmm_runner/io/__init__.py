"""Run-directory I/O: atomic artifact writes and the run status file."""
