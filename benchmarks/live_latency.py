"""Live loop latency and speed on the shared videos, against the bare model in the same run.

Each video is played as a webcam (realtime file source, frames dropped when processing is
slower) through ``run_live_session`` without a window or sound. Reported per video:
- bare inference: median time of ``PoseEstimator.detect`` alone on pre-decoded frames;
- live latency: capture → overlay ready, median and 90th percentile over all frames, and the
  median after warm-up (from the 11th frame: MediaPipe's first frames run the person detector);
- processing fps and the frames dropped (a webcam's frames the loop skipped);
- backlog: the median latency of the last third minus the first third (≈ 0 when no queue grows).
Goal (issue "Live webcam loop"): median latency ≤ one inference time + 10 ms; no backlog.

Usage: python benchmarks/live_latency.py [--model PATH] [VIDEO ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from hamflex.media.sources import Frame
from hamflex.pipelines.live import run_live_session
from hamflex.media.pose import PoseEstimator
from hamflex.protocols.base import Feedback

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_VIDEOS = (
    "videos/real/physioplus_bridging_supine_side.mp4",
    "synthetic/flat2d_supine9090.mp4",
    "videos/sports2d_demo.mp4",
    "videos/pose2sim_single_person/cam01.mp4",
)


class NullProtocol:
    """Consumes frames and says nothing: the loop's own cost is what is measured."""

    def update(self, sample) -> Feedback:
        return Feedback("measuring")

    def result(self) -> dict:
        return {}

    def switch_side(self) -> None:
        pass

    def restart(self) -> None:
        pass


def bare_inference_ms(video: Path, model: Path, max_frames: int = 120) -> float:
    """Median time of the model alone (VIDEO mode) on frames decoded beforehand."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while len(frames) < max_frames:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    times_ms = []
    with PoseEstimator(model) as estimator:
        for i, rgb in enumerate(frames):
            frame = Frame(i, int(round(i * 1000 / fps)), rgb)
            started = time.perf_counter()
            estimator.detect(frame)
            times_ms.append((time.perf_counter() - started) * 1000)
    return statistics.median(times_ms[3:])  # the first calls warm up the interpreter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "pose_landmarker_full.task")
    args = parser.parse_args()
    videos = args.videos or [SHARED / v for v in DEFAULT_VIDEOS]
    print("| video | size | fps | frames | bare inference ms | live latency ms median / p90 | after warm-up | "
          "processing fps | dropped | backlog ms | goal met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for video in videos:
        inference_ms = bare_inference_ms(video, args.model)
        with tempfile.TemporaryDirectory() as out:
            result = run_live_session(str(video), NullProtocol(), Path(out), realtime=True, display=False,
                                      audio=False, model=args.model)
        latencies = np.array(result.latencies_ms)
        third = max(len(latencies) // 3, 1)
        backlog_ms = float(np.median(latencies[-third:]) - np.median(latencies[:third]))
        median_ms = float(np.median(latencies))
        warm_ms = float(np.median(latencies[10:]))
        capture = cv2.VideoCapture(str(video))
        size = f"{int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
        source_fps = capture.get(cv2.CAP_PROP_FPS)
        capture.release()
        met = median_ms <= inference_ms + 10 and backlog_ms < 10
        print(f"| {video.name} | {size} | {source_fps:.0f} | {result.frames}/{result.frames_captured} | "
              f"{inference_ms:.1f} | {median_ms:.1f} / {np.percentile(latencies, 90):.1f} | {warm_ms:.1f} | "
              f"{result.processing_fps:.1f} | {result.frames_dropped} | {backlog_ms:+.1f} | {'yes' if met else 'no'} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
