"""Pose landmarks from MediaPipe's PoseLandmarker: the only module that imports mediapipe.

Which person is analysed when several are in view (``num_poses`` > 1): on the first frame
with people, the largest (bounding box of the landmarks in pixels); afterwards the one whose
hip centre is nearest to the previously analysed person's, as long as it moved less than
half that person's height since; otherwise the largest again.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hamflex.errors import ModelUnavailableError
from hamflex.media.native_log import native_stderr_silenced
from hamflex.media.sources import Frame
from hamflex.core.landmarks import NUM_LANDMARKS, side_index


def _nan(*shape: int) -> np.ndarray:
    return np.full(shape, np.nan, dtype=np.float32)


@dataclass(frozen=True)
class PoseFrame:
    """The analysed person's landmarks in one frame, or "no person" (all NaN, ``detected`` False).

    ``landmarks_norm`` holds MediaPipe's normalized image coordinates (x, y in 0..1 of the
    frame, z relative depth); ``world_landmarks_m`` metric 3D coordinates centred between
    the hips; ``visibility`` and ``presence`` are MediaPipe's per-landmark scores (0..1).
    """

    frame_index: int
    timestamp_ms: int
    image_width: int
    image_height: int
    landmarks_norm: np.ndarray = field(default_factory=lambda: _nan(NUM_LANDMARKS, 3))
    world_landmarks_m: np.ndarray = field(default_factory=lambda: _nan(NUM_LANDMARKS, 3))
    visibility: np.ndarray = field(default_factory=lambda: _nan(NUM_LANDMARKS))
    presence: np.ndarray = field(default_factory=lambda: _nan(NUM_LANDMARKS))
    people_in_view: int = 0

    def __post_init__(self) -> None:
        for name, shape in (
            ("landmarks_norm", (NUM_LANDMARKS, 3)),
            ("world_landmarks_m", (NUM_LANDMARKS, 3)),
            ("visibility", (NUM_LANDMARKS,)),
            ("presence", (NUM_LANDMARKS,)),
        ):
            value = getattr(self, name)
            if np.shape(value) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {np.shape(value)}")

    @property
    def detected(self) -> bool:
        return self.people_in_view > 0

    @property
    def landmarks_px(self) -> np.ndarray:
        """Image coordinates in pixels, ``(33, 2)``: the right space for 2D angles."""
        return self.landmarks_norm[:, :2] * np.array([self.image_width, self.image_height], dtype=np.float32)


def _bounding_box_area(points_px: np.ndarray) -> float:
    extent = np.nanmax(points_px, axis=0) - np.nanmin(points_px, axis=0)
    return float(extent[0] * extent[1])


def _hip_centre(points_px: np.ndarray) -> np.ndarray:
    return (points_px[side_index("left", "hip")] + points_px[side_index("right", "hip")]) / 2


def select_person(candidates_px: list[np.ndarray], previous_hip_centre_px: np.ndarray | None,
                  previous_height_px: float | None) -> int:
    """Index of the candidate to analyse, by the rule in this module's docstring."""
    if previous_hip_centre_px is not None and previous_height_px:
        distances = [float(np.linalg.norm(_hip_centre(c) - previous_hip_centre_px)) for c in candidates_px]
        nearest = int(np.argmin(distances))
        if distances[nearest] < 0.5 * previous_height_px:
            return nearest
    return int(np.argmax([_bounding_box_area(c) for c in candidates_px]))


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C until the block is done: MediaPipe's native set-up is not cut halfway
    (which leaves a half-made landmarker logging at exit). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received and previous is signal.default_int_handler:
        raise KeyboardInterrupt


def _check_model_file(model_path: Path) -> None:
    """A clear error for a model file that cannot be read, before MediaPipe sees it."""
    try:
        with open(model_path, "rb"):
            pass
    except OSError as error:
        raise ModelUnavailableError(f"{model_path}: not a usable pose model ({error.strerror or error})") from error


class PoseEstimator:
    """A MediaPipe PoseLandmarker in VIDEO mode (streams) or IMAGE mode (photos).

    Use it as a context manager: an unclosed landmarker prints a traceback at exit.
    MediaPipe's native log lines are hidden for its whole lifetime unless ``verbose``.
    """

    def __init__(
        self,
        model_path: str | Path,
        image_mode: bool = False,
        num_poses: int = 1,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        verbose: bool = False,
    ) -> None:
        if num_poses < 1:
            raise ValueError("num_poses must be at least 1")
        self.model_path = Path(model_path)
        self.image_mode = image_mode
        self.num_poses = num_poses
        self._confidences = (min_detection_confidence, min_presence_confidence, min_tracking_confidence)
        self._verbose = verbose
        self._landmarker = None
        self._silence = None
        self._previous_hip_centre_px: np.ndarray | None = None
        self._previous_height_px: float | None = None
        self._fresh = False  # a landmarker that has seen no frame yet

    def __enter__(self) -> PoseEstimator:
        self._silence = native_stderr_silenced(not self._verbose)
        self._silence.__enter__()
        try:
            _check_model_file(self.model_path)
            self._open_landmarker()
        except BaseException:  # never leave stderr silenced
            self.close()
            raise
        return self

    def _open_landmarker(self) -> None:
        """A new landmarker (fresh tracking state). MediaPipe reads the model file itself, as in
        0.1 (a landmarker made from an in-memory buffer is a suspect in a rare crash on Ctrl-C)."""
        from mediapipe.tasks.python import BaseOptions, vision

        detection, presence, tracking = self._confidences
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.IMAGE if self.image_mode else vision.RunningMode.VIDEO,
            num_poses=self.num_poses,
            min_pose_detection_confidence=detection,
            min_pose_presence_confidence=presence,
            min_tracking_confidence=tracking,
        )
        try:
            with _sigint_deferred():
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except Exception as error:
            raise ModelUnavailableError(f"{self.model_path}: not a usable pose model ({error})") from error
        self._fresh = True

    def restart(self) -> PoseEstimator:
        """Forget the previous recording (tracking, timestamps, the person followed): an
        estimator opened once serves many recordings, each analysed exactly as by a new one
        (one that has seen no frame yet is kept: it is new)."""
        if self._fresh:
            return self
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
        self._previous_hip_centre_px = None
        self._previous_height_px = None
        self._open_landmarker()
        return self

    def detect(self, frame: Frame) -> PoseFrame:
        """Landmarks of the analysed person in ``frame`` (timestamps must increase in VIDEO mode)."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame.rgb))
        self._fresh = False
        if self.image_mode:
            result = self._landmarker.detect(image)
        else:
            result = self._landmarker.detect_for_video(image, frame.timestamp_ms)
        return self._to_pose_frame(frame, result)

    def _to_pose_frame(self, frame: Frame, result) -> PoseFrame:
        people = len(result.pose_landmarks)
        if people == 0:
            return PoseFrame(frame.frame_index, frame.timestamp_ms, frame.width, frame.height)
        size = np.array([frame.width, frame.height], dtype=np.float32)
        candidates = [
            np.array([[lm.x, lm.y, lm.z, lm.visibility or 0.0, lm.presence or 0.0] for lm in person], dtype=np.float32)
            for person in result.pose_landmarks
        ]
        chosen = select_person(
            [c[:, :2] * size for c in candidates], self._previous_hip_centre_px, self._previous_height_px
        )
        landmarks = candidates[chosen]
        world = np.array([[lm.x, lm.y, lm.z] for lm in result.pose_world_landmarks[chosen]], dtype=np.float32)
        points_px = landmarks[:, :2] * size
        self._previous_hip_centre_px = _hip_centre(points_px)
        self._previous_height_px = float(np.ptp(points_px[:, 1]))
        return PoseFrame(
            frame.frame_index,
            frame.timestamp_ms,
            frame.width,
            frame.height,
            landmarks_norm=landmarks[:, :3],
            world_landmarks_m=world,
            visibility=landmarks[:, 3],
            presence=landmarks[:, 4],
            people_in_view=people,
        )

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
        if self._silence is not None:
            self._silence.__exit__(None, None, None)
            self._silence = None

    def __exit__(self, *exc_info: object) -> None:
        self.close()
