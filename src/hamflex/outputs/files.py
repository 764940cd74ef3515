"""Atomic file writes: a crash or Ctrl-C never leaves half a file under the final name."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


TEMPORARY_SUFFIX = ".part"  # an atomic write in progress: ".<name>.<random>.part" beside the file


@contextlib.contextmanager
def atomic_write(path: Path, newline: str | None = None, binary: bool = False) -> Iterator[IO]:
    """Write text (or bytes, ``binary``) to a temporary file beside ``path`` and rename it into
    place on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    try:
        opened = os.fdopen(descriptor, "wb") if binary else os.fdopen(descriptor, "w", encoding="utf-8",
                                                                      newline=newline)
        with opened as handle:
            yield handle
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def json_ready(value: Any) -> Any:
    """Replace NaN/inf by None, numpy scalars by Python numbers and typed results by their
    ``to_dict()``, recursively."""
    if hasattr(value, "to_dict"):
        return json_ready(value.to_dict())
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def json_text(data: Any) -> str:
    """``data`` as indented JSON text (NaN as null), as files and ``--json`` print it."""
    return json.dumps(json_ready(data), indent=2, ensure_ascii=False) + "\n"


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON (NaN as null), atomically."""
    with atomic_write(path) as handle:
        handle.write(json_text(data))
    return Path(path)


def remove_stale_temporaries(folder: Path) -> int:
    """Delete the temporaries that a killed writer (``kill -9``) left under ``folder``; how many.
    Only for a folder no other process is writing into (a batch's OUT as the batch starts)."""
    stale = [path for path in Path(folder).rglob(f".*{TEMPORARY_SUFFIX}") if path.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)
