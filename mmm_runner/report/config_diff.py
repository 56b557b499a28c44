"""Which config lines a run changed: against the bundled defaults (report) or another run (review).

A reviewer reads a change as `model.gamma.params.sigma: 0.5 -> 0.3`, not as two YAML files. The
defaults are composed the way `conf/config.yaml` composes them (its defaults list, each group
file's own defaults list, then the schema's values), without Hydra: the report runs in any
process, Hydra's compose API needs a global state a live run already holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mmm_runner.resources import conf_dir

SELF = "_self_"
_ABSENT = object()


@dataclass(frozen=True)
class Change:
    """One dotted config key whose value differs; None stands for a key one side lacks."""

    key: str
    before: str | None
    after: str | None

    def line(self, arrow: str = "->") -> str:
        before = "(not set)" if self.before is None else self.before
        after = "(not set)" if self.after is None else self.after
        return f"{self.key}: {before} {arrow} {after}"


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys; lists and scalars are leaves (an empty map is one too)."""
    if isinstance(doc, dict) and doc:
        flat: dict[str, Any] = {}
        for key, value in doc.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: doc} if prefix else {}


def show(value: Any) -> str:
    """A leaf as the YAML flow a user would type: `[act_tv, act_radio]`, `null`, `0.3`."""
    if isinstance(value, str):
        return value
    return json.dumps(value).replace('"', "")


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Every leaf whose value differs, in `after`'s key order, then keys only `before` has."""
    old, new = flatten(before), flatten(after)
    out = []
    for key in [*new, *(k for k in old if k not in new)]:
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if a is _ABSENT or b is _ABSENT or a != b:
            out.append(
                Change(key, None if a is _ABSENT else show(a), None if b is _ABSENT else show(b))
            )
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and value:
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _group_file(folder: Path, group: str, option: str) -> dict[str, Any]:
    """A group option with its own defaults list resolved (`- default`, `_self_` last if unset)."""
    doc = yaml.safe_load((folder / group / f"{option}.yaml").read_text()) or {}
    parents = doc.pop("defaults", [])
    if SELF not in parents:
        parents = [*parents, SELF]
    composed: dict[str, Any] = {}
    for entry in parents:
        part = doc if entry == SELF else _group_file(folder, group, str(entry))
        composed = _merge(composed, part)
    return composed


@cache
def bundled_defaults() -> dict[str, Any]:
    """`python -m mmm_runner` with no overrides, composed from the bundled conf/."""
    from mmm_runner.config.schema import RunConfig, to_plain

    folder = conf_dir()
    primary = yaml.safe_load((folder / "config.yaml").read_text()) or {}
    composed = to_plain(RunConfig())
    for entry in primary.get("defaults", []):
        if isinstance(entry, dict):
            ((group, option),) = entry.items()
            if group.startswith("override ") or "/" in group:  # Hydra's own groups
                continue
            composed[group] = _merge(composed.get(group, {}), _group_file(folder, group, option))
    return composed


def changes_from_defaults(config: dict[str, Any]) -> list[Change]:
    """The lines of a composed run config that differ from the bundled defaults."""
    return changes(bundled_defaults(), config)
