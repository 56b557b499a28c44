"""`report.html`: one self-contained page per run, and a sweep's `leaderboard.html`.

- `page`: the run report, rendered from the run directory through the store.
- `content` / `sections` / `charts` / `svg`: what the report says and draws (inline SVG).
- `leaderboard`: the sweep page. `config_diff`: config lines changed (also used by the review).
- `python -m mmm_runner.report <run_dir>` rebuilds a run's report.

Nothing heavy is imported here: matplotlib loads with the first chart.
"""
