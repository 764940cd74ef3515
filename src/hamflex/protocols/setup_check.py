"""The set-up check as a protocol (``hamflex check-setup``), for recordings and cameras alike.

From the first frame with a person it collects frames (``seconds`` of them, or the whole
recording), then finishes; live, the guidance shows the failed checks so far (refreshed once a
second) so the camera can be moved while watching. The checks themselves are
:func:`hamflex.camera.checks.check_poses`.
"""

from __future__ import annotations

import numpy as np

from hamflex.camera.checks import SetupReport, check_poses
from hamflex.core.landmarks import NUM_LANDMARKS
from hamflex.core.series import PoseSequence
from hamflex.errors import HamflexError, NoPersonError
from hamflex.protocols.base import Feedback, FrameSample

LIVE_CHECK_S = 5.0  # a live check's length when none is given
REFRESH_S = 1.0  # live: how often the guidance is recomputed


class SetupCheckProtocol:
    """Collects frames for the set-up checks (implements ``FrameProtocol``)."""

    kind = "setup"
    title = "hamflex check-setup"
    setup_posture = None  # it is the set-up check: no second one at its start
    evidence_states: tuple[str, ...] = ()

    def __init__(self, *, seconds: float | None = None, posture: str = "auto") -> None:
        self.seconds = seconds
        self.posture = posture
        self.light: tuple[float | None, float | None] = (None, None)  # (person, whole picture) luma
        self.restart()

    def restart(self) -> None:
        self._samples: list[FrameSample] = []
        self._first_seen_s: float | None = None
        self._guidance: tuple[str, ...] = ("stand side-on to the camera, still, for a few seconds",)
        self._last_refresh_s = float("-inf")

    def switch_side(self) -> None:
        """Nothing to switch: the check is the same for either side."""

    def poses(self) -> PoseSequence:
        """The collected frames as a :class:`PoseSequence`."""
        samples, count = self._samples, len(self._samples)

        def stacked(values: list, shape: tuple[int, ...]) -> np.ndarray:
            return np.array(values, dtype=np.float32).reshape(count, *shape)

        visibility = stacked([s.visibility for s in samples], (NUM_LANDMARKS,))
        world = [s.world_landmarks_m if s.world_landmarks_m is not None else np.full((NUM_LANDMARKS, 3), np.nan)
                 for s in samples]
        width, height = samples[0].image_size_px if samples else (0, 0)
        return PoseSequence(
            frame_index=np.array([s.frame_index for s in samples], dtype=np.int64),
            timestamp_ms=np.array([round(s.timestamp_s * 1000) for s in samples], dtype=np.int64),
            detected=np.array([s.detected for s in samples], dtype=bool),
            landmarks_px=stacked([s.landmarks_px for s in samples], (NUM_LANDMARKS, 2)),
            world_landmarks_m=stacked(world, (NUM_LANDMARKS, 3)),
            visibility=visibility,
            presence=visibility.copy(),
            image_width=width,
            image_height=height,
        )

    def update(self, sample: FrameSample) -> Feedback:
        if self._first_seen_s is None:
            if not sample.detected:
                return Feedback("waiting", ("step into the picture, side-on to the camera",))
            self._first_seen_s = sample.timestamp_s
        elapsed_s = sample.timestamp_s - self._first_seen_s
        finished = self.seconds is not None and elapsed_s >= self.seconds
        if finished and len(self._samples) and self._samples[-1].timestamp_s - self._first_seen_s >= self.seconds:
            return Feedback("checking", self._guidance, finished=True)  # done: later frames are not checked
        self._samples.append(sample)
        if elapsed_s - self._last_refresh_s >= REFRESH_S:
            self._last_refresh_s = elapsed_s
            self._guidance = tuple(self.result().warnings) or ("set-up looks good: hold still",)
        return Feedback("checking", self._guidance, finished=finished)

    def score_photo(self, sample: FrameSample) -> Feedback:
        return self.update(sample)

    def result(self) -> SetupReport:
        person_luma, frame_luma = self.light
        return check_poses(self.poses(), posture=self.posture, person_luma=person_luma, frame_luma=frame_luma)

    def nothing_scored(self, result: SetupReport) -> HamflexError | None:
        """Nobody seen: nothing was checked."""
        return None if result.frames else NoPersonError("the check ended before a person was seen")
