"""A REST run spec becomes Hydra overrides; Hydra composes them with the CLI's config and schema.

The worker runs `python -m mmm_runner <the same overrides>`, so a REST run and a CLI run with the
same settings give the same numbers. Composing here first, in the server, turns a typo or an
out-of-range value into a 422 naming the key before anything is queued.

Client strings reach Hydra quoted (`quote`); a client can never set a path (`dataset.path`,
`hydra.*`, `sampler.cache_dir`) or pick another dataset: `check_override` allows only model
keys and group options.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig

import mmm_runner.__main__  # noqa: F401  (registers the schema, the user-conf plugin, ${pid:})
from mmm_runner.api.schemas import RunSpec
from mmm_runner.config.checks import check_config
from mmm_runner.errors import ConfigError
from mmm_runner.model import structure_for
from mmm_runner.resources import conf_dir

GROUPS = ("features", "sampler", "model", "calibration")  # group options a client may pick
OPEN_PREFIXES = ("features.", "sampler.", "model.")
DATASET_KEYS = ("grain", "target_col", "drivers", "controls", "date_format", "holdout_periods")
SERVER_KEYS = ("sampler.cache_dir",)  # a path on the server
SAMPLER_KEYS = ("draws", "tune", "chains", "target_accept", "random_seed")
_OPTION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COMPOSE_LOCK = threading.Lock()  # Hydra's global state: one composition at a time
_HYDRA_NOISE = ("Set the environment variable", "full_key:", "object_type=", "reference_type=")
_HYDRA_TAIL = "Config search path"  # server paths follow: never in an HTTP response


def quote(value: str) -> str:
    """A Hydra single-quoted string holding exactly `value` (backslashes are escaped only
    before a quote or at the end, as Hydra's grammar reads them)."""
    body = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", value)
    body = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, body)
    return f"'{body}'"


def quote_list(values: list[str]) -> str:
    return "[" + ",".join(quote(v) for v in values) + "]"


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _flatten(prefix: str, tree: dict[str, Any]) -> list[str]:
    """`{"adstock": {"max_lag": 8}}` -> `features.adstock.max_lag=8` (keys the client set)."""
    out = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += _flatten(f"{prefix}.{key}", value)
        elif isinstance(value, str):
            out.append(f"{prefix}.{key}={quote(value)}")
        else:
            out.append(f"{prefix}.{key}={_number(value)}")
    return out


def spec_overrides(spec: RunSpec, data_path: Path, dataset_meta: dict[str, Any]) -> list[str]:
    """The Hydra overrides of a run spec, in a fixed order (recorded with the run).

    The dataset keys are always set, so nothing leaks in from the bundled `dataset=sample`
    preset: an uploaded file's defaults are auto grain, every act_* driver, every ctrl_* control.
    """
    target = spec.target_col or str(dataset_meta.get("target_col") or "sales")
    date_format = spec.date_format or str(dataset_meta.get("date_format") or "%Y-%m-%d")
    out = [
        f"dataset.name={spec.dataset_id}",
        f"dataset.path={quote(str(data_path))}",
        f"dataset.grain={spec.grain or 'auto'}",
        f"dataset.target_col={quote(target)}",
        f"dataset.drivers={quote_list(spec.drivers or [])}",
        f"dataset.controls={quote_list(spec.controls or [])}",
        f"dataset.date_format={quote(date_format)}",
    ]
    if spec.holdout_periods is not None:
        out.append(f"dataset.holdout_periods={spec.holdout_periods}")
    if spec.sampler:
        out.append(f"sampler={spec.sampler}")
    if spec.model:
        out.append(f"model={spec.model}")
    if spec.calibration:
        out.append(f"calibration={spec.calibration}")
    if spec.feature_config is not None:
        out += _flatten("features", spec.feature_config.model_dump(exclude_none=True))
    for key in SAMPLER_KEYS:
        value = getattr(spec, key)
        if value is not None:
            out.append(f"sampler.{key}={_number(value)}")
    for index, text in enumerate(spec.overrides):
        check_override(text, f"overrides[{index}]")
    return out + list(spec.overrides)


def check_override(text: str, where: str) -> Override:
    """One client override: parseable, a single value, and a key a client may set."""
    try:
        override = OverridesParser.create().parse_override(text)
    except Exception as exc:  # hydra's OverrideParseException
        raise ConfigError(f"{where}: {text!r} is not a Hydra override ({exc})") from None
    key = override.key_or_group
    if override.package is not None or override.is_sweep_override():
        raise ConfigError(f"{where}: {text!r}: package and sweep overrides are not allowed")
    if key in GROUPS and "." not in key:
        value = override.value()
        if override.is_delete() or not isinstance(value, str) or not _OPTION.match(value):
            raise ConfigError(f"{where}: {key} takes the name of an option in conf/{key}/")
        return override
    dataset_ok = key.startswith("dataset.") and key.split(".")[1] in DATASET_KEYS
    if key in SERVER_KEYS or not (key.startswith(OPEN_PREFIXES) or dataset_ok):
        raise ConfigError(
            f"{where}: {key!r} cannot be set through the API (allowed: features.*, sampler.*, "
            f"model.*, dataset.{{{','.join(DATASET_KEYS)}}}, and a group option: "
            f"{'=, '.join(GROUPS)}=)"
        )
    return override


def _hydra_message(exc: BaseException) -> str:
    """Hydra's error text, the key named, without the hints meant for a terminal."""
    parts = []
    while exc is not None:
        parts.append(str(exc))
        exc = exc.__cause__
    lines = [ln.strip() for p in parts for ln in p.split(_HYDRA_TAIL)[0].splitlines()]
    kept = [ln for ln in lines if ln and not ln.startswith(_HYDRA_NOISE)]
    return " ".join(dict.fromkeys(kept)) or type(exc).__name__


def compose(config_name: str, overrides: list[str]) -> DictConfig:
    """Hydra's composition of a bundled primary config (`config`, `optimize`), as its CLI would
    compose it; ConfigError naming the key on any composition or schema error."""
    with _COMPOSE_LOCK:
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
                return hydra_compose(config_name=config_name, overrides=overrides)
        except Exception as exc:  # hydra/omegaconf composition and validation errors
            raise ConfigError(_hydra_message(exc)) from None
        finally:
            GlobalHydra.instance().clear()


def compose_config(overrides: list[str]) -> DictConfig:
    """The config `python -m mmm_runner <overrides>` would run, value checks included.
    ConfigError (naming the key) for anything the CLI would reject before starting."""
    cfg = compose("config", overrides)
    check_config(cfg)
    structure_for(cfg.model, cfg.features).check(cfg.model)
    return cfg
