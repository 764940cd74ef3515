"""Live guidance on the terminal: printed when it changes, cues as text when they cannot be heard."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from hamflex.outputs.audio import CUE_TEXT
from hamflex.protocols.base import Feedback

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


class TerminalView:
    """Guidance printed on the terminal (stderr) when it changes (with or without a window),
    and the cues as text when they cannot be heard.

    Numbers are ignored when deciding whether guidance changed: angles and counters move
    every frame, and printing each would flood the terminal.
    """

    def __init__(self, stream=None) -> None:
        self._stream_override = stream
        self._last: tuple[str, ...] | None = None

    @property
    def _stream(self):
        """stderr by default, like progress: stdout stays for results (``--json``)."""
        return self._stream_override or sys.stderr

    def feedback(self, time_s: float, feedback: Feedback) -> None:
        shape = tuple(_NUMBER.sub("#", line) for line in (feedback.state, *feedback.guidance))
        if shape != self._last:
            self._last = shape
            print(f"[{time_s:7.1f} s] {feedback.state}: {' | '.join(feedback.guidance)}", file=self._stream, flush=True)

    def cues(self, time_s: float, cues: Sequence[str], spoken: Sequence[str]) -> None:
        words = [CUE_TEXT.get(cue, cue) for cue in cues] + list(spoken)
        if words:
            print(f"[{time_s:7.1f} s] >> {'; '.join(words)}", file=self._stream, flush=True)
