"""Test media made at test time: small videos, rotation metadata, broken files."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

# tkhd transformation matrices (16.16 fixed point, last column 2.30) for clockwise rotations.
_ROTATION_MATRICES = {
    90: (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000),
    180: (-0x10000, 0, 0, 0, -0x10000, 0, 0, 0, 0x40000000),
    270: (0, -0x10000, 0, 0x10000, 0, 0, 0, 0, 0x40000000),
}


def write_video(path: Path, frames_bgr: list[np.ndarray], fps: float = 30.0) -> Path:
    """Write BGR frames as an MP4 (mp4v, lossy), or losslessly (FFV1) for an ``.avi`` path."""
    height, width = frames_bgr[0].shape[:2]
    fourcc = "FFV1" if Path(path).suffix == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    for frame in frames_bgr:
        writer.write(frame)
    writer.release()
    return path


def gradient_frames(count: int, width: int = 160, height: int = 90) -> list[np.ndarray]:
    """Frames with no person: a moving colour gradient, marked so orientation can be checked."""
    frames = []
    for i in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[:, :, 1] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
        frame[:, :, 2] = (i * 5) % 255
        frame[: height // 4, : width // 4] = (255, 255, 255)  # white block, top-left
        frames.append(frame)
    return frames


def set_mp4_rotation(path: Path, degrees: int) -> None:
    """Write rotation metadata into the video track header (as phones do for portrait video)."""
    data = bytearray(Path(path).read_bytes())
    position = data.find(b"tkhd")
    if position < 0:
        raise ValueError("no tkhd box")
    version = data[position + 4]
    # after 'tkhd': version/flags 4, times+track id+reserved+duration (20 or 32), reserved 8,
    # layer, group, volume, reserved 8 → the matrix.
    matrix_offset = position + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    data[matrix_offset : matrix_offset + 36] = struct.pack(">9i", *_ROTATION_MATRICES[degrees])
    Path(path).write_bytes(bytes(data))


def title_card_frames(count: int, width: int, height: int) -> list[np.ndarray]:
    """Frames of an opening title card: large text and a logo on a dark background, no person."""
    frame = np.full((height, width, 3), (40, 30, 20), np.uint8)
    cv2.rectangle(frame, (width // 10, height // 6), (width // 10 + height // 4, height // 6 + height // 4),
                  (0, 140, 255), -1)
    for row, text in enumerate(("hamflex", "90-90 hamstring test", "clinic recording, session 3")):
        cv2.putText(frame, text, (width // 10, height // 2 + row * height // 8), cv2.FONT_HERSHEY_SIMPLEX,
                    height / 300, (255, 255, 255), max(1, height // 200), cv2.LINE_AA)
    return [frame.copy() for _ in range(count)]


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video, BGR."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def video_fps(path: Path) -> float:
    """The frame rate a video's container states."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return fps


def with_end_held(frames_bgr: list[np.ndarray], seconds: float, fps: float) -> list[np.ndarray]:
    """The frames with the last one repeated for ``seconds`` more: the end position held longer."""
    return frames_bgr + [frames_bgr[-1]] * round(seconds * fps)


def write_y4m(path: Path, frames_bgr: list[np.ndarray], fps: float) -> Path:
    """Write frames as an uncompressed YUV4MPEG2 (4:2:0) file, the format Chromium's fake camera
    plays (``--use-file-for-fake-video-capture``)."""
    height, width = frames_bgr[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{round(fps)}:1 Ip A1:1 C420jpeg\n".encode())
        for bgr in frames_bgr:
            out.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path
