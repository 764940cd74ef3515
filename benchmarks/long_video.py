"""One long video on every core: ``hamflex analyze VIDEO --jobs 2`` (the video cut into two
segments analysed side by side, pipelines/segments.py) against a bare read-detect loop and
against ``--jobs 1`` (one process, today's analysis), in one run.

Each of the three is a whole process timed end to end (Python start-up, imports, model
loading, every frame, outputs): the bare loop reads a frame, converts it to RGB and calls
``detect_for_video``, nothing else. Then the two hamflex runs are compared: frames with a
person, and every angle (zero-phase smoothed, as the protocols see them) frame by frame,
away from the cut (≥ 1 s from it) and at it, plus the 90-90 result scored from each. Last,
the peak memory (VmHWM) of each worker process of ``--jobs 2`` on the first 600 frames of
the video and on the whole video: it should not grow with the video's length.

Goals (2 cores): --jobs 2 ≥ 1.5x the bare loop, ≥ 1.4x --jobs 1.

    python benchmarks/long_video.py [--video PATH] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

_BARE_LOOP = (
    "import sys, cv2, mediapipe as mp\n"
    "from mediapipe.tasks.python import BaseOptions, vision\n"
    "options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=sys.argv[2]),\n"
    "                                       running_mode=vision.RunningMode.VIDEO)\n"
    "with vision.PoseLandmarker.create_from_options(options) as landmarker:\n"
    "    capture, count = cv2.VideoCapture(sys.argv[1]), 0\n"
    "    while True:\n"
    "        ok, bgr = capture.read()\n"
    "        if not ok:\n"
    "            break\n"
    "        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)\n"
    "        landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), count * 33)\n"
    "        count += 1\n"
    "print(count)\n"
)


def _descendants(root: int) -> dict[int, int]:
    """Every process under ``root``: pid → parent pid."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = {}, {root}
    while frontier:
        children = {pid: ppid for pid, ppid in parents.items() if ppid in frontier and pid not in found}
        found.update(children)
        frontier = set(children)
    return found


def _peak_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return int(status.split("VmHWM:")[1].split()[0]) if "VmHWM:" in status else None  # not a zombie


def _is_worker(pid: int) -> bool:
    """A process forked by the fork server (not a helper program some library ran)."""
    try:
        return b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class WorkerMemory:
    """Polls the peak resident set (VmHWM, monotone) of a batch's worker processes: the
    grandchildren of the command (its child is the fork server, which forks the workers)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self._process, self.peaks_kb, self._thread = process, {}, threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while self._process.poll() is None:
            tree = _descendants(self._process.pid)
            for pid, parent in tree.items():
                if parent != self._process.pid and _is_worker(pid) and (kb := _peak_kb(pid)) is not None:
                    self.peaks_kb[pid] = max(kb, self.peaks_kb.get(pid, 0))
            time.sleep(0.1)

    def join(self) -> list[float]:
        """Each worker's peak, MB (the fork server and resource tracker are the command's children)."""
        self._thread.join()
        return sorted(kb / 1024 for kb in self.peaks_kb.values())


def timed(command: list[str], env: dict[str, str], memory: bool = False) -> tuple[float, list[float]]:
    """Seconds for a whole process (and, with ``memory``, its workers' peak MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watcher = WorkerMemory(process) if memory else None
    if process.wait():
        raise SystemExit(f"failed: {' '.join(command)}")
    return time.perf_counter() - started, watcher.join() if watcher else []


def analyze_command(video: Path, out: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "hamflex", "analyze", str(video), "--out", str(out), "--jobs", str(jobs),
            "--force", "-q"]


def first_frames(video: Path, count: int, folder: Path) -> Path:
    """The first ``count`` frames of a video as a new file (same size and rate)."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    path = folder / f"{video.stem}_first{count}.mp4"
    writer = None
    for _ in range(count):
        ok, bgr = capture.read()
        if not ok:
            break
        writer = writer or cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, bgr.shape[1::-1])
        writer.write(bgr)
    writer.release()
    capture.release()
    return path


def agreement(single_dir: Path, split_dir: Path) -> None:
    """Print how the segmented analysis agrees with the single-process one."""
    from hamflex.pipelines.research import saved_analysis
    from hamflex.pipelines.run import score_analysis
    from hamflex.pipelines.segments import plan_segments
    from hamflex.protocols.test90 import Test90Protocol

    one, two = saved_analysis(single_dir), saved_analysis(split_dir)
    fps = 1000.0 / float(np.median(np.diff(one.poses.timestamp_ms)))
    cuts = [s.start for s in plan_segments(one.frames, fps, 2)[1:]]
    print(f"frames {one.frames} / {two.frames}, same times: {np.array_equal(one.poses.timestamp_ms, two.poses.timestamp_ms)}"
          f", cut at frame {cuts}; frames with a person {one.frames_with_pose} / {two.frames_with_pose} "
          f"({abs(one.frames_with_pose - two.frames_with_pose) / one.frames:.2%} apart, goal <= 0.5%)")
    near = np.min(np.abs(np.arange(one.frames)[:, None] - np.array(cuts)[None, :]), axis=1) < fps
    for label, three_d in (("image-plane angles", False), ("world (3D) angles", True)):
        names = [n for n in one.angles.smoothed if ("_3d_" in n) == three_d]
        diff = np.stack([np.abs(one.angles.smoothed[n] - two.angles.smoothed[n]) for n in names])
        away, at = diff[:, ~near], diff[:, near]
        print(f"{label}: away from the cut max {np.nanmax(away):.2f} deg, p99 {np.nanpercentile(away, 99):.2f}, "
              f"{np.nanmean(away <= 1.0):.1%} within 1 deg (goal: all); at the cut max {np.nanmax(at):.2f} deg, "
              f"{np.nanmean(at <= 2.0):.1%} within 2 deg")
    results = [score_analysis(a, Test90Protocol.from_options()).to_dict() for a in (one, two)]
    for label, result in zip(("--jobs 1", "--jobs 2"), results):
        trials = [(t["side"], t["valid"], t["knee_extension_deficit_deg"]) for t in result["trials"]]
        print(f"90-90 scored from {label}: trials {trials}; grades {({s: v['grade'] for s, v in result['sides'].items()})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=SHARED / "synthetic" / "dev_test90.mp4")
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("HAMFLEX_MODEL")
                                                           or SHARED / "models" / "pose_landmarker_full.task"))
    args = parser.parse_args()
    env = dict(os.environ, HAMFLEX_MODEL=str(args.model))
    frames = int(cv2.VideoCapture(str(args.video)).get(cv2.CAP_PROP_FRAME_COUNT))
    print(f"video: {args.video.name}, {frames} frames; model {args.model.name}; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        bare, _ = timed([sys.executable, "-c", _BARE_LOOP, str(args.video), str(args.model)], env)
        single, _ = timed(analyze_command(args.video, scratch / "jobs1", 1), env)
        split, long_mb = timed(analyze_command(args.video, scratch / "jobs2", 2), env, memory=True)
        print(f"bare read-detect loop : {bare:6.1f} s ({frames / bare:5.1f} fps)")
        print(f"hamflex --jobs 1      : {single:6.1f} s ({frames / single:5.1f} fps)")
        print(f"hamflex --jobs 2      : {split:6.1f} s ({frames / split:5.1f} fps), two segments")
        print(f"ratio --jobs 2 / bare loop : {bare / split:.2f}x (goal >= 1.5x)")
        print(f"ratio --jobs 2 / --jobs 1  : {single / split:.2f}x (goal >= 1.4x)")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        agreement(scratch / "jobs1" / args.video.stem, scratch / "jobs2" / args.video.stem)
        short = first_frames(args.video, 600, scratch)
        _, short_mb = timed(analyze_command(short, scratch / "short", 2), env, memory=True)
    print(f"peak RSS per worker, --jobs 2: {', '.join(f'{mb:.0f}' for mb in short_mb)} MB on 600 frames; "
          f"{', '.join(f'{mb:.0f}' for mb in long_mb)} MB on {frames} frames")


if __name__ == "__main__":
    main()
