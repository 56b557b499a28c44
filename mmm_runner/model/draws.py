"""Posterior draws as flat numpy arrays, and the linear predictor they imply.

Model layer: the backends use it for the log-likelihood, analysis for decomposition and fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_runner.features.build import FeatureSet


@dataclass
class Draws:
    """Parameters stacked over (chain, draw) into one leading `sample` axis."""

    intercept: np.ndarray  # (S,)
    beta: np.ndarray  # (S, C)
    gamma: np.ndarray  # (S, J)
    sigma: np.ndarray  # (S,)
    nu: np.ndarray | None  # (S,) or None for a Normal likelihood

    @classmethod
    def from_idata(cls, idata: Any, n_controls: int) -> Draws:
        post = idata.posterior

        def flat(name: str) -> np.ndarray:
            values = post[name].values
            return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])

        n = post.sizes["chain"] * post.sizes["draw"]
        return cls(
            intercept=flat("intercept"),
            beta=flat("beta"),
            gamma=flat("gamma") if n_controls else np.zeros((n, 0)),
            sigma=flat("sigma"),
            nu=flat("nu") if "nu" in post else None,
        )

    def mu(self, features: FeatureSet) -> np.ndarray:
        """(S, T) linear predictor on the centred log scale."""
        return (
            self.intercept[:, None]
            + self.beta @ features.x_channels.T
            + self.gamma @ features.x_controls.T
        )

    def channel_terms(self, features: FeatureSet) -> np.ndarray:
        """(S, T, C) log-space lift of each channel over zero activity."""
        lift = features.x_channels - features.channels_at_zero  # (T, C)
        return self.beta[:, None, :] * lift[None, :, :]
