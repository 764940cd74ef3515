"""Receiving an upload safely: the multipart body is parsed as it streams in, the file part is
written under a server-made name in the data folder's ``incoming/``, and the size limit is
enforced on the bytes received (a lying or missing Content-Length changes nothing).

The client's file name is used for one thing only: its suffix, which must be a video or photo
type hamflex reads. It never becomes a path.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from python_multipart.multipart import MultipartParser, parse_options_header

from hamflex.media.sources import PHOTO_SUFFIXES, VIDEO_SUFFIXES

DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024**3  # 2 GB (docs/web.md)
MAX_FIELD_BYTES = 10_000  # the small text fields beside the file
ALLOWED_SUFFIXES = PHOTO_SUFFIXES | VIDEO_SUFFIXES
INCOMING_FOLDER = "incoming"


class UploadRefused(Exception):
    """An upload that is not accepted, with the HTTP status that says why."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def allowed_suffix(client_name: str) -> str:
    """The lower-case suffix of the client's file name (its last component, Windows or POSIX
    separators alike) if hamflex reads that type; refuses anything else."""
    name = PureWindowsPath(PurePosixPath(client_name).name).name
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadRefused(415, f"{name or 'the file'}: not a video or photo hamflex reads"
                                 f" (one of {', '.join(sorted(ALLOWED_SUFFIXES))})")
    return suffix


@dataclass
class _Parts:
    """What the parser callbacks collect."""

    incoming: Path
    fields: dict[str, str] = field(default_factory=dict)
    file_path: Path | None = None
    _headers: dict[str, str] = field(default_factory=dict)
    _header: list[bytes] = field(default_factory=lambda: [b"", b""])
    _name: str = ""
    _value: bytearray = field(default_factory=bytearray)
    _handle: object = None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def header_end(self) -> None:
        self._headers[self._header[0].decode("latin-1").lower()] = self._header[1].decode("utf-8", "replace")
        self._header = [b"", b""]

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None and self._name == "file":
            suffix = allowed_suffix(filename.decode("utf-8", "replace"))
            self.incoming.mkdir(parents=True, exist_ok=True)
            self.file_path = self.incoming / f"{uuid.uuid4().hex}{suffix}"
            self._handle = self.file_path.open("wb")

    def data(self, data: bytes, start: int, end: int) -> None:
        if self._handle is not None:
            self._handle.write(data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise UploadRefused(413, f"form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def part_end(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        elif self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace")
        self._headers, self._name, self._value = {}, "", bytearray()

    def discard(self) -> None:
        """Remove a partly written file (refused or broken upload)."""
        if self._handle is not None:
            self._handle.close()
        if self.file_path is not None:
            self.file_path.unlink(missing_ok=True)


def _parser(content_type: str, parts: _Parts) -> MultipartParser:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRefused(400, "an upload is a multipart/form-data request with a 'file' part")
    return MultipartParser(boundary, {
        "on_header_field": parts.header_field, "on_header_value": parts.header_value,
        "on_header_end": parts.header_end, "on_headers_finished": parts.headers_finished,
        "on_part_data": parts.data, "on_part_end": parts.part_end})


async def receive_upload(content_type: str, content_length: str | None, body: AsyncIterator[bytes],
                         data_dir: Path, max_bytes: int) -> tuple[dict[str, str], Path]:
    """Stream a multipart upload to ``DATA/incoming/<random>.<suffix>``; the form fields and the
    file's path. Refuses (and deletes what was written) a body over ``max_bytes``, a type hamflex
    does not read and a request without a file."""
    if content_length is not None and content_length.isdigit() and int(content_length) > max_bytes:
        raise UploadRefused(413, f"the upload is larger than the limit of {max_bytes} bytes")
    parts = _Parts(data_dir / INCOMING_FOLDER)
    received = 0
    try:
        parser = _parser(content_type, parts)
        async for chunk in body:
            received += len(chunk)
            if received > max_bytes:
                raise UploadRefused(413, f"the upload is larger than the limit of {max_bytes} bytes")
            parser.write(chunk)
        parser.finalize()
    except BaseException:
        parts.discard()
        raise
    if parts.file_path is None or not parts.file_path.stat().st_size:
        parts.discard()
        raise UploadRefused(400, "the upload has no file (a non-empty form part named 'file')")
    return parts.fields, parts.file_path
