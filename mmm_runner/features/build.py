"""Turn the canonical brand-time table into model-ready, standardized feature matrices.

Pure: a DataFrame and a feature config in, a `FeatureSet` out. The simulator and the pipeline
both use it, so the bundled sample's truth is defined by exactly the code that fits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mmm_runner.config.schema import AdstockConfig, FeaturesConfig
from mmm_runner.errors import ConfigError
from mmm_runner.features.transforms import (
    SEASONAL_PERIOD,
    Standardizer,
    fourier_terms,
    geometric_adstock,
    hill_saturation,
    linear_trend,
    logistic_saturation,
)


@dataclass
class FeatureSet:
    """Standardized model inputs plus everything needed to map raw values the same way."""

    periods: np.ndarray
    channel_names: list[str]
    control_names: list[str]
    x_channels: np.ndarray  # (T, C) z-scored transformed media
    x_controls: np.ndarray  # (T, J) z-scored controls, seasonality, trend
    channels_at_zero: np.ndarray  # (C,) z-score of raw zero activity (adstock/Hill of 0 is 0)
    target: np.ndarray  # (T,) raw target
    target_log_centered: np.ndarray  # (T,) log1p(target) - m
    target_offset: float  # m = mean of log1p(target)
    target_log_std: float
    n_fit: int  # rows the model is fitted on; rows after it are the holdout
    # The learned structures transform media inside the model: activity / its training peak.
    media_scaled: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # (T, C)
    media_peak: np.ndarray = field(default_factory=lambda: np.empty(0))  # (C,) raw peaks
    target_mean: float = 1.0  # s: mean target over the training window (additive scale)
    scalers: dict[str, Standardizer] = field(default_factory=dict)
    decays: dict[str, float] = field(default_factory=dict)
    blocks: dict[str, list[str]] = field(default_factory=dict)
    # model.level=entity: the per-entity arrays (features/entity.py: EntityPanel); None at brand.
    panel: Any = None

    @property
    def training(self) -> FeatureSet:
        """The first n_fit periods (the training window) with the same scalers and offset."""
        n = self.n_fit
        return replace(
            self,
            periods=self.periods[:n],
            x_channels=self.x_channels[:n],
            x_controls=self.x_controls[:n],
            media_scaled=self.media_scaled[:n],
            target=self.target[:n],
            target_log_centered=self.target_log_centered[:n],
            panel=self.panel.training() if self.panel is not None else None,
        )

    def to_frame(self) -> pd.DataFrame:
        """features.parquet: one row per period, the standardized columns by block."""
        frame = pd.DataFrame({"period_start": self.periods})
        for i, name in enumerate(self.channel_names):
            frame[name] = self.x_channels[:, i]
        for j, name in enumerate(self.control_names):
            frame[name] = self.x_controls[:, j]
        for i, name in enumerate(self.channel_names):
            frame[f"{name}__scaled"] = self.media_scaled[:, i]
        frame["target_log_centered"] = self.target_log_centered
        frame["split"] = np.where(np.arange(len(frame)) < self.n_fit, "train", "holdout")
        return frame

    def scaler_dict(self) -> dict[str, Any]:
        return {
            "method": "z-score: (x - mean) / std, on the transformed series",
            "features": {k: {"mean": s.mean, "std": s.std} for k, s in self.scalers.items()},
            "channels_at_zero": dict(
                zip(self.channel_names, map(float, self.channels_at_zero), strict=True)
            ),
            "fitted_on_periods": self.n_fit,
            "target": {
                "transform": "log1p",
                "mean": self.target_offset,
                "std": self.target_log_std,
                "note": "model target is log1p(y) - mean (centred, not scaled)",
                "additive_scale": self.target_mean,
            },
            "media_peak": dict(zip(self.channel_names, map(float, self.media_peak), strict=True)),
        }


def channel_decays(drivers: list[str], adstock_cfg: AdstockConfig) -> dict[str, float]:
    """Decay per driver: `per_channel` overrides `decay_default`; unknown channels are typos."""
    per_channel = dict(adstock_cfg.per_channel or {})
    unknown = sorted(set(per_channel) - set(drivers))
    if unknown:
        raise ConfigError(
            f"features.adstock.per_channel names {unknown}, which are not drivers of this "
            f"dataset (drivers: {drivers})"
        )
    return {c: float(per_channel.get(c, adstock_cfg.decay_default)) for c in drivers}


def control_feature_count(n_controls: int, features_cfg: FeaturesConfig) -> int:
    """Columns of the control block: controls, Fourier terms and the trend."""
    n = n_controls
    if features_cfg.seasonality.enabled:
        n += 2 * int(features_cfg.seasonality.K)
    return n + int(bool(features_cfg.trend.enabled))


def transform_channel(
    x: np.ndarray, decay: float, features_cfg: FeaturesConfig, n_fit: int | None = None
) -> np.ndarray:
    """Adstock, then (optionally) Hill saturation: the media response before z-scoring.

    Adstock is causal; the Hill peak is taken over the first `n_fit` periods only.
    """
    out = geometric_adstock(x, decay, int(features_cfg.adstock.max_lag))
    sat = features_cfg.saturation
    if sat.enabled:
        peak = float(out[:n_fit].max(initial=0.0))
        if str(getattr(sat.type, "value", sat.type)) == "logistic":
            out = logistic_saturation(out, float(sat.K), peak=peak)
        else:
            out = hill_saturation(out, float(sat.K), float(sat.S), peak=peak)
    return out


def build_features(
    frame: pd.DataFrame,
    target_col: str,
    drivers: list[str],
    controls: list[str],
    features_cfg: FeaturesConfig,
    grain: str,
    holdout_periods: int = 0,
) -> FeatureSet:
    """Build the channel and control blocks (docs/model.md, "Features") from a brand-time frame.

    Every fitted quantity (scalers, Hill peak, target offset) uses the training window only, so
    the last `holdout_periods` periods stay unseen until they are forecast.
    """
    frame = frame.sort_values("period_start").reset_index(drop=True)
    n = len(frame)
    n_fit = n - int(holdout_periods)
    if not 0 < n_fit <= n:
        raise ConfigError(
            f"dataset.holdout_periods: {holdout_periods} leaves no periods to fit ({n} in data)"
        )
    decays = channel_decays(drivers, features_cfg.adstock)
    scalers: dict[str, Standardizer] = {}

    def standardize(name: str, values: np.ndarray) -> np.ndarray:
        scalers[name] = Standardizer.fit(values[:n_fit])
        return scalers[name].transform(values)

    channel_cols, zero_points, scaled_cols, peaks = [], [], [], []
    for name in drivers:
        values = frame[name].to_numpy(float)
        peak = float(values[:n_fit].max(initial=0.0))
        peaks.append(peak)
        scaled_cols.append(values / peak if peak > 0 else np.zeros_like(values))
        transformed = transform_channel(values, decays[name], features_cfg, n_fit)
        channel_cols.append(standardize(name, transformed))
        zero_points.append(float(scalers[name].transform(0.0)))

    control_names = list(controls)
    control_cols = [standardize(c, frame[c].to_numpy(float)) for c in controls]
    seasonal_names: list[str] = []
    if features_cfg.seasonality.enabled and int(features_cfg.seasonality.K) > 0:
        harmonics = int(features_cfg.seasonality.K)
        terms = fourier_terms(n, SEASONAL_PERIOD[grain], harmonics)
        for k in range(1, harmonics + 1):
            seasonal_names += [f"fourier_sin_{k}", f"fourier_cos_{k}"]
        control_cols += [standardize(nm, terms[:, i]) for i, nm in enumerate(seasonal_names)]
    trend_names = ["trend"] if features_cfg.trend.enabled else []
    if trend_names:
        control_cols.append(standardize("trend", linear_trend(n)))

    target = frame[target_col].to_numpy(float)
    log_target = np.log1p(target)
    offset = float(log_target[:n_fit].mean())
    return FeatureSet(
        periods=frame["period_start"].to_numpy(),
        channel_names=list(drivers),
        control_names=control_names + seasonal_names + trend_names,
        x_channels=np.column_stack(channel_cols) if channel_cols else np.empty((n, 0)),
        x_controls=np.column_stack(control_cols) if control_cols else np.empty((n, 0)),
        channels_at_zero=np.asarray(zero_points, dtype=float),
        target=target,
        target_log_centered=log_target - offset,
        target_offset=offset,
        target_log_std=float(log_target[:n_fit].std()),
        n_fit=n_fit,
        media_scaled=np.column_stack(scaled_cols) if scaled_cols else np.empty((n, 0)),
        media_peak=np.asarray(peaks, dtype=float),
        target_mean=float(target[:n_fit].mean()),
        scalers=scalers,
        decays=decays,
        blocks={
            "channels": list(drivers),
            "controls": control_names,
            "seasonality": seasonal_names,
            "trend": trend_names,
        },
    )
