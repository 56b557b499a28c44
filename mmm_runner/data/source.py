"""Find the input file and read its header, failing early and clearly on unreadable files.

Runs before DuckDB: an empty, binary, non-UTF-8 or wrongly delimited file gets a message a
user can act on instead of a parser's stack trace.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from mmm_runner.errors import DataValidationError
from mmm_runner.resources import resource_root

PARQUET_SUFFIXES = (".parquet", ".pq")
# Where `sample_data/` lives: the checkout, or the package directory of an installed wheel.
PROJECT_ROOT = resource_root()
_SNIFF_BYTES = 1 << 16


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str  # "csv" or "parquet"
    header: list[str]

    @property
    def label(self) -> str:
        return self.path.name


def resolve_input_path(path: str, base_dirs: list[Path] | None = None) -> Path:
    """An absolute path as is; a relative one against the working directory, then the bundled
    resources (so `sample_data/...` finds the packaged sample from any directory)."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        tried = [candidate]
    else:
        tried = [(d / candidate).resolve() for d in (base_dirs or [Path.cwd(), PROJECT_ROOT])]
    for option in tried:
        if option.is_file():
            return option
    raise DataValidationError(
        f"{path}: input file not found (looked in: {', '.join(str(t) for t in tried)})"
    )


def _csv_header(path: Path) -> list[str]:
    head = path.open("rb").read(_SNIFF_BYTES)
    if not head.strip():
        raise DataValidationError(f"{path.name}: file is empty (no header, no rows)")
    if b"\x00" in head:
        raise DataValidationError(f"{path.name}: not a text CSV file (binary content)")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte character cut by the sniff window
            raise DataValidationError(
                f"{path.name}: not UTF-8 text (invalid byte 0x{head[exc.start]:02x} at byte "
                f"{exc.start}); save the file as UTF-8"
            ) from None
        text = head[: exc.start].decode("utf-8-sig")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    header = next(csv.reader(io.StringIO(first_line)), [])
    header = [h.strip() for h in header]
    if len(header) == 1 and ";" in first_line:
        raise DataValidationError(
            f"{path.name}: header has one column containing ';' -- the file looks "
            "semicolon-delimited; mmm_runner reads comma-separated files"
        )
    return header


def inspect_input(path: Path) -> InputFile:
    """Format and header of the input file."""
    if path.stat().st_size == 0:
        raise DataValidationError(f"{path.name}: file is empty (0 bytes)")
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            header = list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataValidationError(f"{path.name}: not a readable Parquet file ({exc})") from None
        return InputFile(path, "parquet", header)
    return InputFile(path, "csv", _csv_header(path))
