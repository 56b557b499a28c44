"""Receive one multipart upload straight into a file on disk, stopping at the size limit.

FastAPI's `UploadFile` parses the whole body before the route runs, so a 10 GB upload would be
spooled before a limit could refuse it. Here the body is parsed as it streams in
(python-multipart's push parser): the file part goes to `<staging>/<dataset_id>.<ext>` chunk by
chunk, hashed on the way, and the upload stops with 413 the moment it passes the limit. The
client's file name picks the format and is kept for display only; it never becomes a path.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from mmm_runner.api.storage import DATASET_FORMATS

FORM_OVERHEAD = 1 << 20  # boundaries, part headers and small fields beyond the file itself
FILE_FIELD = "file"


class UploadRejected(Exception):
    """Refused before validation; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ReceivedFile:
    path: Path
    filename: str  # as the client named it: display only
    format: str
    bytes: int
    sha256: str


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: bytes = b""
    value: bytes = b""


class _Receiver:
    """python-multipart callbacks: one file part to disk, other fields ignored."""

    def __init__(self, staging: Path, stem: str, limit: int) -> None:
        self.staging, self.stem, self.limit = staging, stem, limit
        self.part = _Part()
        self.handle: IO[bytes] | None = None
        self.writing = False
        self.received: ReceivedFile | None = None
        self.digest = hashlib.sha256()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.part.name.lower()] = self.part.value
        self.part.name, self.part.value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name != FILE_FIELD or b"filename" not in options:
            return
        if self.received is not None:
            raise UploadRejected(422, f"{FILE_FIELD}: send one file per upload")
        filename = PurePath(options[b"filename"].decode("utf-8", "replace")).name
        suffix = PurePath(filename).suffix.lower()
        if suffix not in DATASET_FORMATS:
            raise UploadRejected(
                415, f"{FILE_FIELD}: {filename!r}: only .csv and .parquet files are accepted"
            )
        path = self.staging / f"{self.stem}{suffix}"
        self.handle = path.open("wb")
        self.writing = True
        self.received = ReceivedFile(path, filename, DATASET_FORMATS[suffix], 0, "")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.writing:
            return
        assert self.handle is not None and self.received is not None
        chunk = data[start:end]
        self.received.bytes += len(chunk)
        if self.received.bytes > self.limit:
            raise UploadRejected(413, too_large(self.limit))
        self.handle.write(chunk)
        self.digest.update(chunk)

    def on_part_end(self) -> None:
        if self.writing:
            self.finish()

    def finish(self) -> None:
        assert self.handle is not None and self.received is not None
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        self.writing = False
        self.received.sha256 = self.digest.hexdigest()

    def close(self) -> None:
        if self.handle is not None and not self.handle.closed:
            self.handle.close()


def too_large(limit: int) -> str:
    return f"upload larger than the limit of {limit / 1024 / 1024:g} MiB (api.max_upload_mb)"


async def receive_upload(request: Request, staging: Path, stem: str, limit: int) -> ReceivedFile:
    """Stream the request's `file` part to `staging/<stem>.<ext>`; UploadRejected otherwise."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UploadRejected(
            415, f"send the dataset as multipart/form-data with the file in field {FILE_FIELD!r}"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise UploadRejected(413, too_large(limit))  # refused before reading a byte
    receiver = _Receiver(staging, stem, limit)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit + FORM_OVERHEAD:
                raise UploadRejected(413, too_large(limit))
            parser.write(chunk)
        parser.finalize()
    except UploadRejected:
        raise
    except Exception as exc:  # python-multipart's parse errors, a client that went away
        raise UploadRejected(400, f"malformed multipart upload ({type(exc).__name__})") from None
    finally:
        receiver.close()
    if receiver.received is None or receiver.writing:
        raise UploadRejected(422, f"{FILE_FIELD}: no complete file part named {FILE_FIELD!r}")
    return receiver.received
