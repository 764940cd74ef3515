"""Offline throughput: ``hamflex analyze`` against a bare MediaPipe VIDEO-mode loop, one run.

Three loops over the same video, each timed end to end (open the video, create the
landmarker, process every frame, close):
- bare: read a frame, convert BGR→RGB, detect, repeat (what most scripts do);
- model only: the frames decoded beforehand, so only inference is timed (the ceiling);
- hamflex: ``analyze_video`` with its outputs (angles.csv, summary.json).
Then peak memory (max RSS) of ``hamflex analyze`` on the video and on a 4x longer version.

    python benchmarks/throughput.py [--video PATH] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def bare_loop_fps(video: Path, model: Path, predecoded: bool = False) -> float:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from hamflex.media.native_log import native_stderr_silenced

    frames = []
    if predecoded:
        capture = cv2.VideoCapture(str(video))
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        capture.release()
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)), running_mode=vision.RunningMode.VIDEO
    )
    with native_stderr_silenced():
        started = time.perf_counter()
        count = 0
        with vision.PoseLandmarker.create_from_options(options) as landmarker:
            if predecoded:
                for index, rgb in enumerate(frames):
                    landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), index * 17)
                    count += 1
            else:
                capture = cv2.VideoCapture(str(video))
                while True:
                    ok, bgr = capture.read()
                    if not ok:
                        break
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), count * 17)
                    count += 1
                capture.release()
        return count / (time.perf_counter() - started)


def hamflex_fps(video: Path, model: Path) -> float:
    from hamflex.pipelines.offline import analyze_video

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = analyze_video(video, out, model=model)
        return result.frames / (time.perf_counter() - started)


def repeated_video(video: Path, times: int, folder: Path) -> Path:
    """The video played ``times`` times in a row, as one file."""
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(bgr)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    capture.release()
    path = folder / f"{video.stem}_x{times}.mp4"
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for _ in range(times):
        for frame in frames:
            writer.write(frame)
    writer.release()
    return path


# VmHWM (the peak resident set of this process image) rather than ru_maxrss, which Linux
# carries over from the parent across fork + exec.
_MEASURE_RSS = (
    "import sys\n"
    "from hamflex.cli import app\n"
    "try:\n"
    "    app(sys.argv[1:], prog_name='hamflex')\n"
    "except SystemExit:\n"
    "    pass\n"
    "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
    "print(int(status.split()[0]))\n"
)


def peak_rss_mb(video: Path, model: Path) -> float:
    """Peak RSS of a separate ``hamflex analyze`` process, in MB."""
    with tempfile.TemporaryDirectory() as out:
        completed = subprocess.run(
            [sys.executable, "-c", _MEASURE_RSS, "analyze", str(video), "--out", out, "--quiet", "--model", str(model)],
            check=True, capture_output=True, text=True,
        )
    return int(completed.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=SHARED / "videos" / "sports2d_demo.mp4")
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("HAMFLEX_MODEL") or SHARED / "models" / "pose_landmarker_full.task"))
    args = parser.parse_args()
    capture = cv2.VideoCapture(str(args.video))
    size = f"{int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
    capture.release()
    print(f"video: {args.video.name} ({size}), model: {args.model.name}, cores: {os.cpu_count()}")
    bare = bare_loop_fps(args.video, args.model)
    model_only = bare_loop_fps(args.video, args.model, predecoded=True)
    ours = hamflex_fps(args.video, args.model)
    print(f"bare read-detect loop : {bare:6.1f} fps")
    print(f"model only (predecoded): {model_only:6.1f} fps")
    print(f"hamflex analyze        : {ours:6.1f} fps")
    print(f"ratio hamflex / bare loop  : {ours / bare:5.2f}  (goal >= 1.2, never < 0.9)")
    print(f"ratio hamflex / model only : {ours / model_only:5.2f}  (goal >= 0.95)")
    with tempfile.TemporaryDirectory() as folder:
        longer = repeated_video(args.video, 4, Path(folder))
        short_mb, long_mb = peak_rss_mb(args.video, args.model), peak_rss_mb(longer, args.model)
    print(f"peak RSS: {short_mb:.0f} MB on the video, {long_mb:.0f} MB on 4x its length ({long_mb / short_mb:.2f}x)")


if __name__ == "__main__":
    main()
