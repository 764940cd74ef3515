"""MediaPipe's 33 pose landmarks: indices, names and the skeleton's edges.

Kept free of mediapipe imports so geometry, protocols and outputs stay pure.
"""

from __future__ import annotations

NUM_LANDMARKS = 33

LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_pinky", "right_pinky",
    "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
INDEX = {name: i for i, name in enumerate(LANDMARK_NAMES)}

NOSE = INDEX["nose"]
DEFAULT_MIN_VISIBILITY = 0.5
"""Landmarks MediaPipe sees with less visibility than this count as missing (NaN) in angles."""
SIDES = ("left", "right")


def other_side(side: str) -> str:
    """``left`` ↔ ``right``."""
    return "right" if side == "left" else "left"


def side_index(side: str, joint: str) -> int:
    """Index of ``joint`` (shoulder, hip, knee, ankle, heel, foot_index, ...) on ``side``."""
    return INDEX[f"{side}_{joint}"]


LEG_JOINTS = ("hip", "knee", "ankle")

# The skeleton's edges, the same as mediapipe's PoseLandmarksConnections.POSE_LANDMARKS
# (a test checks that they agree).
POSE_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)
