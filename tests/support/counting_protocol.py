"""A minimal protocol for driving the live loop and the runner in tests."""

from __future__ import annotations

import math

from hamflex.protocols.base import CUE_DONE, CUE_TICK, Feedback, FrameSample


class CountingProtocol:
    """A minimal FrameProtocol: counts frames, sums a knee angle (so results depend on every
    value), emits a tick every 10 frames and a chime at ``done_at``; finishes at ``finish_at``.
    Its result is a plain dict (it only goes through ``run_live_session``)."""

    kind = "test90"  # a key of hamflex.outputs.names.PROTOCOL_FILES
    title = "hamflex"
    setup_posture: str | None = "auto"
    evidence_states: tuple[str, ...] = ()

    def __init__(self, done_at: int = 30, finish_at: int | None = None, interrupt_at: int | None = None,
                 probe=None, title: str | None = None, setup_posture: str | None = "auto") -> None:
        self.done_at, self.finish_at, self.interrupt_at, self.probe = done_at, finish_at, interrupt_at, probe
        if title is not None:
            self.title = title
        self.setup_posture = setup_posture
        self.updates = 0
        self.detected = 0
        self.knee_sum_deg = 0.0
        self.timestamps_s: list[float] = []
        self.done_time_s: float | None = None
        self.switches = self.restarts = 0

    def update(self, sample: FrameSample) -> Feedback:
        self.updates += 1
        if self.probe is not None:
            self.probe(self.updates)
        if self.updates == self.interrupt_at:
            raise KeyboardInterrupt  # Ctrl-C arriving in the middle of a frame
        self.timestamps_s.append(sample.timestamp_s)
        self.detected += sample.detected
        knee = sample.angles_deg["right_knee_flexion_deg"]
        if math.isfinite(knee):
            self.knee_sum_deg += knee
        cues: tuple[str, ...] = (CUE_TICK,) if self.updates % 10 == 0 else ()
        if self.updates == self.done_at:
            cues += (CUE_DONE,)
            self.done_time_s = sample.timestamp_s
        return Feedback(f"state {self.updates // 20}", (f"frames {self.updates}",), cues=cues,
                        finished=self.updates == self.finish_at)

    def __deepcopy__(self, memo) -> CountingProtocol:
        """The copy a live session scores at its end: the same settings, without the live run's
        side effects (the probe, the simulated Ctrl-C)."""
        return CountingProtocol(self.done_at, self.finish_at, title=self.title, setup_posture=self.setup_posture)

    def score_photo(self, sample: FrameSample) -> Feedback:
        return self.update(sample)

    def result(self) -> dict:
        return {"updates": self.updates, "detected": self.detected, "knee_sum_deg": self.knee_sum_deg,
                "switches": self.switches, "restarts": self.restarts}

    def nothing_scored(self, result: dict) -> None:
        return None

    def switch_side(self) -> None:
        self.switches += 1

    def restart(self) -> None:
        self.restarts += 1
