"""How the report and the review name channels and print numbers.

Column names are data (`act_tv`, `spend_x1`); charts read better with "TV" and "X1". Every label
keeps a way back to the column: tables show both, and two columns never share a label.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

ROLE_PREFIXES = ("act_", "spend_", "ctrl_")
SHORT_WORD = 3  # words this short are acronyms more often than not: tv, ooh, seo


def channel_label(column: str) -> str:
    """`act_tv` -> "TV", `spend_paid_search` -> "Paid search", `act_channel0` -> "Channel0"."""
    name = column
    for prefix in ROLE_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
            break
    words = [w for w in name.replace("-", "_").split("_") if w]
    if not words:
        return column
    if len(words) == 1 and len(words[0]) <= SHORT_WORD and words[0].isalnum():
        return words[0].upper()
    text = " ".join(words)
    return text[0].upper() + text[1:]


def channel_labels(columns: Iterable[str]) -> dict[str, str]:
    """A readable label per column; columns whose labels would collide keep their own name."""
    columns = list(columns)
    labels = {c: channel_label(c) for c in columns}
    taken = [labels[c] for c in columns]
    return {c: (labels[c] if taken.count(labels[c]) == 1 else c) for c in columns}


def is_number(value: object) -> bool:
    """A finite real (numpy scalars included); not a bool, None, NaN or pandas' NA."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def num(value: object, digits: int = 3) -> str:
    """A number to `digits` significant digits, thousands separated; "-" for none/NaN."""
    if not is_number(value):
        return "-"
    value = float(value)  # type: ignore[arg-type]
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= digits - 1:
        return f"{value:,.0f}"
    return f"{value:,.{max(0, digits - 1 - magnitude)}f}"


def pct(value: object, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%" if is_number(value) else "-"  # type: ignore[operator]


def interval(mean: object, lower: object, upper: object, digits: int = 3) -> str:
    """`1.94 [1.46, 2.37]`."""
    return f"{num(mean, digits)} [{num(lower, digits)}, {num(upper, digits)}]"
