"""Sweeps: rank a folder of runs by ELPD-LOO into a leaderboard."""
