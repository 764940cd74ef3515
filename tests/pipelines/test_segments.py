"""One long video on every core: planning the segments, joining them, and (real model) the
segmented analysis agreeing with the single-process one."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from hamflex.errors import InputError
from hamflex.media.sources import VideoInfo
from hamflex.outputs.names import TEST90_JSON
from hamflex.pipelines.batch import BatchInput, BatchSettings, ProtocolSpec, local_records, run_batch
from hamflex.pipelines.offline import analysis_result
from hamflex.pipelines.research import saved_analysis
from hamflex.pipelines.run import score_analysis
from hamflex.pipelines.segments import (
    Segment, SegmentPoses, SplitInput, joined_analysis, joined_records, plan_segments, split_inputs,
)
from hamflex.protocols.test90 import Test90Protocol
from tests.support.media import gradient_frames, write_video
from tests.support.synthetic_poses import make_pose, to_pose_frames


def _kept(segments: tuple[Segment, ...], frame_count: int) -> list[int]:
    return [i for s in segments for i in range(s.start, s.stop if s.stop is not None else frame_count)]


def test_a_long_video_is_cut_into_equal_parts_each_with_a_warm_up():
    segments = plan_segments(1275, 30.0, 2)
    assert segments == (Segment(0, 0, 652), Segment(622, 652, None))  # 1 s of warm-up before the second
    assert _kept(segments, 1275) == list(range(1275))  # every frame kept exactly once, in order
    three = plan_segments(1800, 30.0, 3, warmup_s=0.5)
    assert [(s.warmup_start, s.start, s.stop) for s in three] == [(0, 0, 610), (595, 610, 1205), (1190, 1205, None)]
    assert _kept(three, 1800) == list(range(1800))
    analysed = [(s.stop or 1800) - s.warmup_start for s in three]
    assert max(analysed) - min(analysed) <= 1  # warm-up included, every worker has as much to do


def test_short_or_unknown_videos_are_not_cut_and_parts_stay_long_enough():
    assert plan_segments(599, 30.0, 2) == ()  # under 2 x 10 s
    assert len(plan_segments(600, 30.0, 2)) == 2
    assert len(plan_segments(900, 30.0, 8)) == 3  # 30 s: three parts of 10 s, not eight
    assert plan_segments(None, 30.0, 2) == plan_segments(1000, 0.0, 2) == plan_segments(1000, 30.0, 1) == ()


def test_only_fewer_inputs_than_jobs_are_split(tmp_path):
    video = write_video(tmp_path / "clip.mp4", gradient_frames(60), fps=30.0)  # 2 s
    other = write_video(tmp_path / "other.mp4", gradient_frames(60), fps=30.0)
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"-")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    one, two = BatchInput(video, "clip"), BatchInput(other, "other")
    split = split_inputs([one], 2, min_segment_s=0.5)
    assert list(split) == ["clip"] and len(split["clip"].segments) == 2
    assert split["clip"].info.frame_count == 60 and split["clip"].info.fps == 30.0
    assert len(split_inputs([one], 3, min_segment_s=0.5)["clip"].segments) == 3
    assert [len(s.segments) for s in split_inputs([one, two], 4, min_segment_s=0.5).values()] == [2, 2]
    assert split_inputs([one, two], 2, min_segment_s=0.5) == {}  # whole inputs keep both workers busy
    assert split_inputs([one], 2) == {}  # 2 s is too short for the default threshold
    assert split_inputs([one], 2, overlay=True, min_segment_s=0.5) == {}
    assert split_inputs([BatchInput(photo, "p"), BatchInput(broken, "b")], 4, min_segment_s=0.01) == {}


def _split(frames: int) -> tuple[SplitInput, list]:
    pose = make_pose(np.linspace(0, 90, frames), np.linspace(90, 10, frames))
    poses = to_pose_frames(pose, np.arange(frames) * 33)
    info = VideoInfo(960, 540, 30.0, frames, "synthetic")
    segments = (Segment(0, 0, 10), Segment(5, 10, 20), Segment(15, 20, None))
    return SplitInput(BatchInput(Path("synthetic.mp4"), "synthetic"), info, segments), poses


def test_segments_are_joined_in_frame_order_into_what_one_process_computes(tmp_path):
    split, poses = _split(30)
    parts = [SegmentPoses(s, poses[s.start:s.stop], elapsed_s=float(i + 1)) for i, s in enumerate(split.segments)]
    joined = joined_analysis(split, parts[::-1], Path("model.task"), None, tmp_path / "out")  # back in any order
    whole = analysis_result(split.item.path, poses, split.info, Path("model.task"), 3.0)
    assert list(joined.poses.frame_index) == list(range(30))
    assert joined.processing_fps == whole.processing_fps == 10.0  # the slowest part's time: they ran side by side
    for name, values in whole.angles.smoothed.items():
        np.testing.assert_array_equal(joined.angles.smoothed[name], values)
    assert (tmp_path / "out" / "angles.csv").is_file() and not joined.warnings
    short = joined_analysis(split, [*parts[:2], SegmentPoses(split.segments[2], poses[20:25])], Path("m"), None, None)
    assert short.warnings == ["the video ended after 25 of 30 announced frames (truncated file?)"]


def test_a_failed_segment_fails_its_input_only():
    split, poses = _split(30)
    parts = [SegmentPoses(split.segments[0], poses[:10]), SegmentPoses(split.segments[1], error=InputError("bad")),
             SegmentPoses(split.segments[2], poses[20:])]
    with pytest.raises(InputError, match="bad"):
        joined_analysis(split, parts, Path("m"), None, None)
    results = iter([("synthetic", parts[2]), ("whole", "its record"), ("synthetic", parts[0]), ("synthetic", parts[1])])
    finished = list(joined_records(results, {"synthetic": split}, lambda s, got: (s.item.name, len(got))))
    assert finished == [("whole", "its record"), ("synthetic", 3)]  # a split input once its last part is back


BOUNDARY_FRAME = 60  # flat2d_supine9090: 90 frames, cut in two with a 1 s threshold (analysed: 0-59, 30-89)
TESTED_LEG = ("right_hip_flexion_deg", "right_knee_flexion_deg", "right_knee_extension_deficit_deg")


def test_a_video_analysed_in_two_segments_matches_one_process(model_path, shared_dir, analyzed_clip, tmp_path):
    """The 90-90 clip cut in two (threshold lowered so 3 s are worth it) on two workers against
    the same clip analysed whole: same frames and times, same detections (±0.5%), the scored
    leg's angles within 1° away from the cut and 2° at it, the same 90-90 result."""
    clip = "synthetic/flat2d_supine9090.mp4"
    settings = BatchSettings(model_path=str(model_path), protocol=ProtocolSpec("test90", {}))
    report = run_batch([BatchInput(shared_dir / clip, "clip")], tmp_path, settings, jobs=2,
                       records=partial(local_records, min_segment_s=1.0))
    record = report.records["clip"]
    assert report.exit_code == 0 and record.segments == 2 and record.frames == 90
    whole, split = analyzed_clip(clip), saved_analysis(tmp_path / "clip")
    np.testing.assert_array_equal(split.poses.frame_index, whole.poses.frame_index)
    np.testing.assert_array_equal(split.poses.timestamp_ms, whole.poses.timestamp_ms)
    assert abs(split.frames_with_pose - whole.frames_with_pose) <= 0.005 * whole.frames
    near = np.abs(np.arange(whole.frames) - BOUNDARY_FRAME) < 15
    for name in TESTED_LEG:
        difference = np.abs(split.angles.smoothed[name] - whole.angles.smoothed[name])
        assert np.nanmax(difference[~near]) <= 1.0 and np.nanmax(difference[near]) <= 2.0, name
    ours = json.loads((tmp_path / "clip" / TEST90_JSON).read_text())
    theirs = score_analysis(whole, Test90Protocol.from_options()).to_dict()
    assert [(t["side"], t["valid"]) for t in ours["trials"]] == [(t["side"], t["valid"]) for t in theirs["trials"]]
    assert ours["trials"][0]["knee_extension_deficit_deg"] == pytest.approx(
        theirs["trials"][0]["knee_extension_deficit_deg"], abs=1.0)
    assert {s: v["grade"] for s, v in ours["sides"].items()} == {s: v["grade"] for s, v in theirs["sides"].items()}


class _InterruptedOnce:
    """The workers' results, with a Ctrl-C in the driver after the first ``at`` of them."""

    def __init__(self, items: list, at: int) -> None:
        self._items, self._at, self._given = list(items), at, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._given == self._at:
            self._at = -1
            raise KeyboardInterrupt
        if not self._items:
            raise StopIteration
        self._given += 1
        return self._items.pop(0)


def test_ctrl_c_joins_what_the_stopped_segments_measured(tmp_path):
    split, poses = _split(30)
    first = SegmentPoses(split.segments[0], poses[:10])
    stopped = [SegmentPoses(split.segments[1], poses[10:14], complete=False),
               SegmentPoses(split.segments[2], poses[20:22], complete=False)]
    told, finished = [], []

    def finish(split_input, parts):
        finished.append(len(parts))
        joined_analysis(split_input, parts, Path("m"), None, tmp_path / "out")

    results = _InterruptedOnce([("synthetic", first), ("whole", "record"), ("synthetic", stopped[0]),
                                ("synthetic", stopped[1]), ("never", "waited for")], at=1)
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for record in joined_records(results, {"synthetic": split}, finish, lambda: told.append(True)):
            seen.append(record)
    assert told == [True] and seen == [("whole", "record")] and finished == [3]
    saved = saved_analysis(tmp_path / "out")  # written before the analysis raised: up to the first stopped part
    assert list(saved.poses.frame_index) == list(range(14)) and not saved.complete
