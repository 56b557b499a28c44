"""The vocabulary a model structure states itself in: parameters and posterior draws.

A structure lists its `Parameter`s once; the PyMC graph, the native density's layout, the
posterior variable names and the prior checks are all derived from that list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

Transform = Literal["identity", "log", "logit"]
# Code of each transform in the native density's data buffer (see model/native_support.py).
TRANSFORM_CODES: dict[str, int] = {"identity": 0, "log": 1, "logit": 2}


# Elements per temporary when per-draw work runs in blocks of draws (8 MB of float64): a
# 50-entity panel's (S, E, T, C) array for 4,000 draws at once is 1.2 GB.
BLOCK_ELEMENTS = 1 << 20


def row_blocks(n_rows: int, per_row: int) -> Iterator[slice]:
    """Slices of consecutive rows holding about BLOCK_ELEMENTS elements each (at least one row)."""
    step = max(1, BLOCK_ELEMENTS // max(per_row, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


@dataclass(frozen=True)
class Parameter:
    """One parameter of a structure.

    `dims` name the coordinate axes (`channel`, `control`); `transform` is how NUTS sees it
    (log for positive, logit for (0, 1), as PyMC's default transforms); `prior_key` is the key
    of its `{dist, params}` line in `conf/model/*.yaml`; `scale_from` names the parameter that
    sets its prior's `sigma` (hierarchical shrinkage); `native_family` is the prior family the
    structure's hand-written density implements for it (None: none, use the PyMC graph).
    """

    name: str
    dims: tuple[str, ...] = ()
    transform: Transform = "identity"
    prior_key: str | None = None
    scale_from: str | None = None
    native_family: str | None = None

    def size(self, dim_sizes: Mapping[str, int]) -> int:
        return int(np.prod([dim_sizes[d] for d in self.dims])) if self.dims else 1

    def shape(self, dim_sizes: Mapping[str, int]) -> tuple[int, ...]:
        return tuple(dim_sizes[d] for d in self.dims)


@dataclass(frozen=True)
class Derived:
    """A deterministic function of parameters, saved with the posterior (e.g. non-centred beta)."""

    name: str
    dims: tuple[str, ...] = ()


@dataclass
class Draws:
    """Posterior draws stacked over (chain, draw) into one leading `sample` axis, by name."""

    values: dict[str, np.ndarray]
    n_samples: int

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def get(self, name: str) -> np.ndarray | None:
        return self.values.get(name)

    @classmethod
    def from_idata(
        cls,
        idata: object,
        variables: Iterable[Parameter | Derived],
        dim_sizes: Mapping[str, int],
    ) -> Draws:
        """Flatten chains; a variable with an empty dimension (no controls) becomes zeros."""
        post = idata.posterior  # type: ignore[attr-defined]
        n = int(post.sizes["chain"] * post.sizes["draw"])
        values: dict[str, np.ndarray] = {}
        for var in variables:
            shape = tuple(dim_sizes[d] for d in var.dims)
            if var.name in post:
                raw = post[var.name].values
                values[var.name] = raw.reshape(n, *raw.shape[2:])
            elif 0 in shape:
                values[var.name] = np.zeros((n, *shape))
        return cls(values, n)

    def blocks(self, per_draw: int) -> Iterator[tuple[slice, Draws]]:
        """Consecutive blocks of draws, `per_draw` elements of work each (see `row_blocks`)."""
        for rows in row_blocks(self.n_samples, per_draw):
            block = {k: v[rows] for k, v in self.values.items()}
            yield rows, Draws(block, rows.stop - rows.start)

    @classmethod
    def single(cls, values: Mapping[str, float | np.ndarray]) -> Draws:
        """One draw of known values (the simulator's truth), with the sample axis added."""
        return cls({k: np.asarray(v, dtype=float)[None, ...] for k, v in values.items()}, 1)
