"""``--record DIR``: a live session saved so that it can be replayed exactly.

raw.mp4 (the analysed frames), landmarks.csv (every landmark to float32 precision, with the
pause flag and key action of each frame), angles.csv (raw and One-Euro angles, the columns of
``hamflex analyze``), and at the end cues.wav and session.json.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from hamflex.core.landmarks import LANDMARK_NAMES, NUM_LANDMARKS
from hamflex.media.pose import PoseFrame
from hamflex.outputs.audio import render_cue_track
from hamflex.outputs.names import ANGLES_CSV, RECORD_CUES_WAV, RECORD_LANDMARKS_CSV, RECORD_SESSION_JSON, RECORD_VIDEO
from hamflex.outputs.tables import CSV_COLUMNS, CsvSink, angle_row
from hamflex.outputs.video import VideoSink

_PER_LANDMARK = ("x", "y", "z", "world_x_m", "world_y_m", "world_z_m", "visibility", "presence")
LANDMARK_VALUE_COLUMNS: tuple[str, ...] = tuple(f"{name}_{part}" for name in LANDMARK_NAMES for part in _PER_LANDMARK)
LANDMARK_CSV_COLUMNS: tuple[str, ...] = (
    "frame", "capture_index", "timestamp_ms", "image_width", "image_height", "people_in_view", "paused", "action",
    *LANDMARK_VALUE_COLUMNS,
)


def _exact(value: float) -> str:
    """float32 to text that reads back to the same float32 (9 significant digits)."""
    return "" if not math.isfinite(value) else format(float(value), ".9g")


def landmark_row(row_index: int, capture_index: int, pose: PoseFrame, paused: bool, action: str | None) -> dict:
    """One frame of landmarks.csv."""
    row: dict[str, object] = {
        "frame": row_index, "capture_index": capture_index, "timestamp_ms": pose.timestamp_ms,
        "image_width": pose.image_width, "image_height": pose.image_height,
        "people_in_view": pose.people_in_view, "paused": int(paused), "action": action or "",
    }
    values = np.column_stack([pose.landmarks_norm, pose.world_landmarks_m, pose.visibility, pose.presence])
    for column, value in zip(LANDMARK_VALUE_COLUMNS, values.ravel()):
        row[column] = _exact(value)
    return row


class SessionRecorder:
    """Writes a live session's frames, landmarks and angles as they come (a context manager)."""

    def __init__(self, directory: Path, fps: float, width: int, height: int) -> None:
        self.directory = Path(directory)
        self.files = {
            "raw_video": self.directory / RECORD_VIDEO,
            "landmarks_csv": self.directory / RECORD_LANDMARKS_CSV,
            "angles_csv": self.directory / ANGLES_CSV,
        }
        self._video = VideoSink(self.files["raw_video"], fps, width, height)
        self._landmarks = CsvSink(self.files["landmarks_csv"], LANDMARK_CSV_COLUMNS).__enter__()
        self._angles = CsvSink(self.files["angles_csv"], CSV_COLUMNS).__enter__()
        self.rows = 0

    def write(self, frame_bgr: np.ndarray, capture_index: int, pose: PoseFrame, raw: dict[str, float],
              smoothed: dict[str, float], leg_visibility: dict[str, float], paused: bool, action: str | None) -> None:
        self._video.write(frame_bgr)
        self._landmarks.write_row(landmark_row(self.rows, capture_index, pose, paused, action))
        self._angles.write_row(angle_row(self.rows, pose.timestamp_ms, pose.detected, raw, smoothed, leg_visibility))
        self.rows += 1

    def close(self, cue_events: Sequence[tuple[float, str]], duration_s: float) -> dict[str, Path]:
        """Finish every file and write the cue track; the files by kind (session.json is the caller's)."""
        self._video.close()
        self._landmarks.__exit__(None, None, None)
        self._angles.__exit__(None, None, None)
        files = dict(self.files)
        files["cues_wav"] = render_cue_track(cue_events, self.directory / RECORD_CUES_WAV, duration_s=duration_s)
        files["session_json"] = self.directory / RECORD_SESSION_JSON
        return files


def read_recorded_poses(record_dir: Path) -> Iterator[tuple[PoseFrame, bool, str | None]]:
    """The poses of a recording's landmarks.csv, with each frame's pause flag and key action."""
    with open(Path(record_dir) / RECORD_LANDMARKS_CSV, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            values = np.array([float(row[c]) if row[c] != "" else np.nan for c in LANDMARK_VALUE_COLUMNS],
                              dtype=np.float32).reshape(NUM_LANDMARKS, len(_PER_LANDMARK))
            pose = PoseFrame(
                int(row["capture_index"]), int(row["timestamp_ms"]), int(row["image_width"]), int(row["image_height"]),
                landmarks_norm=values[:, 0:3].copy(), world_landmarks_m=values[:, 3:6].copy(),
                visibility=values[:, 6].copy(), presence=values[:, 7].copy(),
                people_in_view=int(row["people_in_view"]),
            )
            yield pose, row["paused"] == "1", row["action"] or None
