"""Hydra plugin: a user's own `conf/` folder joins mmm_runner's config search path.

Hydra finds plugins by scanning the `hydra_plugins` namespace package (no `__init__.py` there);
the plugin class lives in `user_conf.py`.
"""
