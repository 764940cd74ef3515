"""Batch scaling: 8 short videos with ``hamflex analyze --jobs 2`` against ``--jobs 1``, one run.

The 8 inputs are the shared 90-frame clips linked twice each under different folders (so
same-named files in different folders are exercised too). Each batch runs as the real
command (``python -m hamflex analyze FOLDER --jobs N --force -q``), timed end to end:
start-up, model loading in every worker, all 8 analyses, batch.json and summary.csv. Then
the outputs of both runs are compared (angles.csv, landmarks.npz and summary.csv must be
identical byte for byte). Goal on a 2-core machine: ≥ 1.6× faster with 2 jobs.

    python benchmarks/batch_scaling.py [--model PATH] [--copies 2]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CLIPS = ("flat2d_supine9090.mp4", "flat2d_supine9090_mirror.mp4", "flat2d_slr.mp4", "ray3d_supine9090.mp4")


def make_study(folder: Path, copies: int) -> int:
    """``copies`` × the shared clips as links under folder/copyN/; returns the number of inputs."""
    for copy in range(copies):
        (folder / f"copy{copy}").mkdir(parents=True)
        for clip in CLIPS:
            os.symlink(SHARED / "synthetic" / clip, folder / f"copy{copy}" / clip)
    return copies * len(CLIPS)


def timed_batch(study: Path, out: Path, jobs: int, model: Path) -> float:
    """Seconds for one whole ``hamflex analyze`` batch."""
    env = dict(os.environ, HAMFLEX_MODEL=str(model))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hamflex", "analyze", str(study), "--out", str(out), "--jobs", str(jobs),
                    "--force", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def same_outputs(first: Path, second: Path) -> bool:
    """Every angles.csv, landmarks.npz and the summary.csv identical in both output folders."""
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.name in ("angles.csv", "landmarks.npz"))
    names.append(Path("summary.csv"))
    return bool(names) and all(filecmp.cmp(first / n, second / n, shallow=False) for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("HAMFLEX_MODEL")
                                                           or SHARED / "models/pose_landmarker_full.task"))
    parser.add_argument("--copies", type=int, default=2, help="copies of the 4 shared clips (default 2: 8 videos)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        count = make_study(scratch / "study", args.copies)
        seconds = {jobs: timed_batch(scratch / "study", scratch / f"jobs{jobs}", jobs, args.model) for jobs in (1, 2)}
        identical = same_outputs(scratch / "jobs1", scratch / "jobs2")
    frames = count * 90
    print(f"{count} videos, {frames} frames, {os.cpu_count()} cores")
    for jobs, elapsed in seconds.items():
        print(f"--jobs {jobs}: {elapsed:6.1f} s  ({frames / elapsed:5.1f} frames/s overall)")
    print(f"speed-up --jobs 2 / --jobs 1: {seconds[1] / seconds[2]:.2f}x (goal >= 1.6x); "
          f"identical outputs: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
