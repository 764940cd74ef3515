"""Silence mediapipe's C++ log lines, which go straight to file descriptor 2.

Environment variables do not silence them (see ../shared/NOTES-mediapipe.md), so the
descriptor itself is pointed at /dev/null while Python's ``sys.stderr`` keeps writing to
the real terminal: hamflex's own messages and progress bars stay visible.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0


def _python_stderr_is_fd2() -> bool:
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # replaced stderr (pytest capture, IDEs)
        return False


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Point fd 2 at /dev/null for the duration (re-entrant); a no-op when not ``enabled``."""
    global _depth
    if not enabled:
        yield
        return
    with _lock:
        _depth += 1
        outermost = _depth == 1
        if outermost:
            sys.stderr.flush()
            saved_fd = os.dup(2)
            saved_stream = None
            if _python_stderr_is_fd2():
                saved_stream = sys.stderr
                sys.stderr = os.fdopen(
                    os.dup(saved_fd), "w", buffering=1, encoding=saved_stream.encoding, errors="backslashreplace"
                )
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if outermost:
                sys.stderr.flush()
                os.dup2(saved_fd, 2)
                os.close(saved_fd)
                if saved_stream is not None:
                    sys.stderr.close()
                    sys.stderr = saved_stream
