"""Both legs on the overlay (tested one highlighted, side labels apart) and the per-trial
evidence picture: real pixels drawn on synthetic poses, and one frame of the real model."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from hamflex.core.landmarks import NUM_LANDMARKS, SIDES, side_index
from hamflex.outputs.overlay import (
    LEFT_BGR,
    RIGHT_BGR,
    draw_skeleton,
    draw_trial_evidence,
    write_trial_picture,
)

COLOURS = {"left": LEFT_BGR, "right": RIGHT_BGR}


def _pose(hips_px: dict[str, tuple[float, float]], knees_px: dict[str, tuple[float, float]]) -> np.ndarray:
    """A supine pose with each leg's hip and knee where asked; ankle, heel and toes beyond the knee."""
    points = np.full((NUM_LANDMARKS, 2), np.nan, np.float32)
    for side in SIDES:
        hip, knee = np.asarray(hips_px[side], np.float32), np.asarray(knees_px[side], np.float32)
        points[side_index(side, "shoulder")] = hip + (-150, 0)
        points[side_index(side, "hip")] = hip
        points[side_index(side, "knee")] = knee
        points[side_index(side, "ankle")] = knee + (knee - hip) * 0.9
        points[side_index(side, "heel")] = points[side_index(side, "ankle")] + (-8, 0)
        points[side_index(side, "foot_index")] = points[side_index(side, "ankle")] + (25, -10)
    return points


def _two_thighs_up() -> np.ndarray:
    """Two vertical thighs well apart: left at x=200, right at x=440 (hips at y=400, knees at y=250)."""
    return _pose({"left": (200, 400), "right": (440, 400)}, {"left": (200, 250), "right": (440, 250)})


def _visibility(value: float = 0.99) -> np.ndarray:
    return np.full(NUM_LANDMARKS, value, np.float32)


def _colour_fraction(image: np.ndarray, a, b, colour_bgr, tolerance: int = 60, samples: int = 25) -> float:
    """Share of points along a..b (20-70 % of the way) with the colour within one pixel."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    hits = 0
    for t in np.linspace(0.2, 0.7, samples):
        x, y = (int(round(v)) for v in a + t * (b - a))
        patch = image[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).astype(int)
        hits += bool((np.abs(patch - np.asarray(colour_bgr)).max(axis=1) <= tolerance).any())
    return hits / samples


def _thigh(points: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
    return points[side_index(label, "hip")], points[side_index(label, "knee")]


def _line_width_px(image: np.ndarray, row: int, centre_x: int) -> int:
    """Drawn (non-black) pixels across a vertical line, on one row."""
    return int((image[row, centre_x - 30:centre_x + 31].max(axis=1) > 30).sum())


def test_both_legs_are_drawn_in_their_side_colours():
    points = _two_thighs_up()
    for tested in (None, "left", "right"):
        image = np.zeros((480, 640, 3), np.uint8)
        draw_skeleton(image, points, _visibility(), tested_side=tested)
        for side in SIDES:
            assert _colour_fraction(image, *_thigh(points, side), COLOURS[side]) > 0.95, (tested, side)


def test_the_tested_leg_is_drawn_thicker_than_the_other():
    points = _two_thighs_up()
    for tested, other, tested_x, other_x in (("left", "right", 200, 440), ("right", "left", 440, 200)):
        image = np.zeros((480, 640, 3), np.uint8)
        draw_skeleton(image, points, _visibility(), tested_side=tested)
        assert _line_width_px(image, 320, tested_x) >= _line_width_px(image, 320, other_x) + 2, tested


def test_a_leg_with_visibility_0_1_is_still_drawn():
    points = _two_thighs_up()
    visibility = _visibility()
    for part in ("hip", "knee", "ankle", "heel", "foot_index"):
        visibility[side_index("right", part)] = 0.1
    for tested in (None, "left", "right"):
        image = np.zeros((480, 640, 3), np.uint8)
        draw_skeleton(image, points, visibility, 0.5, tested_side=tested)
        assert _colour_fraction(image, *_thigh(points, "right"), RIGHT_BGR) >= 0.3, tested
        assert _colour_fraction(image, *_thigh(points, "left"), LEFT_BGR) > 0.95, tested


def test_a_leg_without_landmarks_is_left_out_without_error():
    points = _two_thighs_up()
    for part in ("hip", "knee", "ankle", "heel", "foot_index"):
        points[side_index("right", part)] = np.nan
    image = np.zeros((480, 640, 3), np.uint8)
    boxes = draw_skeleton(image, points, _visibility(), tested_side="left")
    assert set(boxes) == {"left"}
    assert not image[:, 400:].any()  # nothing where the right leg would be


def _assert_labels_apart(image: np.ndarray, boxes: dict) -> None:
    """The two label boxes are disjoint, and every text outline pixel lies inside one of them."""
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes["left"], boxes["right"]
    assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, boxes
    dark = image.max(axis=2) < 40  # the black text outline; lines, joints and shading are lighter
    inside = np.zeros_like(dark)
    for x0, y0, x1, y1 in boxes.values():
        assert dark[max(0, y0):y1, max(0, x0):x1].sum() > 20  # a label is drawn in each box
        inside[max(0, y0):y1, max(0, x0):x1] = True
    assert not (dark & ~inside).any()  # and nothing of them outside the boxes


@pytest.mark.parametrize("knee_gap_px", [(5, 0), (0, 5), (3, 4), (-5, 0), (0, -5), (0, 0)])
@pytest.mark.parametrize("tested", [None, "left", "right"])
def test_side_labels_do_not_overlap_when_the_knees_are_5_px_apart(knee_gap_px, tested):
    """Side-on, both knees project to nearly the same pixel."""
    knees = {"left": (320, 250), "right": (320 + knee_gap_px[0], 250 + knee_gap_px[1])}
    points = _pose({"left": (318, 400), "right": (322, 402)}, knees)
    image = np.full((480, 640, 3), 128, np.uint8)
    boxes = draw_skeleton(image, points, _visibility(), tested_side=tested)
    _assert_labels_apart(image, boxes)
    for side in SIDES:  # each label in its side's colour, near its knee
        x0, y0, x1, y1 = boxes[side]
        region = image[y0:y1, x0:x1].reshape(-1, 3).astype(int)
        assert (np.abs(region - np.asarray(COLOURS[side])).max(axis=1) <= 40).sum() > 10
        assert max(x0 - 320, 320 - x1, y0 - 250, 250 - y1) < 80


def test_side_labels_stay_apart_and_inside_the_picture_at_its_corner():
    points = _pose({"left": (600, 60), "right": (601, 62)}, {"left": (636, 4), "right": (638, 7)})
    image = np.full((480, 640, 3), 128, np.uint8)
    boxes = draw_skeleton(image, points, _visibility(), tested_side="right")
    _assert_labels_apart(image, boxes)
    for x0, y0, x1, y1 in boxes.values():
        assert 0 <= x0 and x1 <= 640 and 0 <= y0 and y1 <= 480


def test_a_far_leg_with_the_near_sides_label_is_named_by_its_anatomical_side():
    """MediaPipe often labels a raised far leg with the near side's name: with
    ``tested_leg_label`` the raised leg is still drawn and named as the tested (left) side."""
    points = _two_thighs_up()  # landmarks labelled "right" are the leg at x=440
    image = np.zeros((480, 640, 3), np.uint8)
    boxes = draw_skeleton(image, points, _visibility(), tested_side="left", tested_leg_label="right")
    assert _colour_fraction(image, *_thigh(points, "right"), LEFT_BGR) > 0.95
    assert _colour_fraction(image, *_thigh(points, "left"), RIGHT_BGR) > 0.95
    assert _line_width_px(image, 320, 440) >= _line_width_px(image, 320, 200) + 2
    assert boxes["left"][0] > 340 and boxes["right"][2] < 300  # each name beside its own knee


def _evidence(size: tuple[int, int], deficit_deg: float, hip_deg: float, caption: str) -> tuple[np.ndarray, np.ndarray]:
    """Evidence picture of a supine 90-90 end position on a plain grey frame of ``size`` (w, h):
    left thigh vertical (tested), right leg lying flat."""
    width, height = size
    thigh_px = 0.3 * height
    hips = {"left": (0.4 * width, 0.8 * height), "right": (0.4 * width + 2, 0.8 * height + 3)}
    knees = {"left": (0.4 * width, 0.8 * height - thigh_px), "right": (0.4 * width + 2 + thigh_px, 0.8 * height + 3)}
    points = _pose(hips, knees)
    points[side_index("left", "ankle")] = points[side_index("left", "knee")] + (0.2 * thigh_px, -0.9 * thigh_px)
    image = np.full((height, width, 3), 100, np.uint8)
    return draw_trial_evidence(image, points, _visibility(), "left", deficit_deg, hip_deg, caption), points


@pytest.mark.parametrize("size", [(640, 480), (1920, 1080)])
def test_evidence_shows_the_angles_at_the_joints_and_the_caption(size):
    caption = "Trial 2 - left leg - valid"
    with_angles, points = _evidence(size, 14.0, 91.0, caption)
    without_angles, _ = _evidence(size, float("nan"), float("nan"), caption)
    assert with_angles.shape == (size[1], size[0], 3)
    changed = np.argwhere((with_angles.astype(int) - without_angles).any(axis=2))  # only the angle texts differ
    reach_px = 0.12 * size[0]
    for joint in ("hip", "knee"):
        x, y = points[side_index("left", joint)]
        distances = np.hypot(changed[:, 1] - x, changed[:, 0] - y)
        assert (distances < reach_px).sum() > 50, joint  # text drawn right beside the joint
    without_caption, _ = _evidence(size, 14.0, 91.0, "")
    caption_rows = np.argwhere(((with_angles.min(axis=2) > 220) & ~(without_caption.min(axis=2) > 220)).any(axis=1))
    text_height_px = int(caption_rows.max() - caption_rows.min() + 1)
    assert caption_rows.max() < 0.15 * size[1]  # a band at the top
    assert text_height_px >= (10 if size[0] < 1000 else 20)  # readable: letters at least that tall


def _band_bottom_px(image: np.ndarray) -> int:
    """Last row of the dark caption band (the grey background darkened), seen at column 2."""
    return int(np.flatnonzero(image[:, 2].max(axis=1) < 60).max())


def test_a_long_caption_is_wrapped_inside_a_small_frame():
    caption = (
        "Trial 4 - left leg - not valid: other leg lift 22° (> 15); "
        "thigh drifted 12.0° toward the head during the extension (limit 10°)"
    )
    image, _ = _evidence((640, 480), 26.0, 90.0, caption)
    short, _ = _evidence((640, 480), 26.0, 90.0, "Trial 4")
    band = slice(0, _band_bottom_px(image) + 1)
    columns = np.flatnonzero((image[band].min(axis=2) > 220).any(axis=0))
    assert columns.max() < 640 - 3  # nothing cut at the right edge
    assert _band_bottom_px(image) >= _band_bottom_px(short) + 15  # wrapped onto more lines


def test_trial_picture_is_a_jpeg_written_atomically(tmp_path: Path):
    image, _ = _evidence((640, 480), 14.0, 91.0, "Trial 1 - left leg - valid")
    path = write_trial_picture(tmp_path / "out" / "trial_1_end.jpg", image)
    assert path == tmp_path / "out" / "trial_1_end.jpg"
    decoded = cv2.imread(str(path))
    assert decoded is not None and decoded.shape == image.shape
    assert np.abs(decoded.astype(int) - image).mean() < 6
    second = write_trial_picture(path, np.zeros((1080, 1920, 3), np.uint8))  # replaced, not appended
    assert cv2.imread(str(second)).shape == (1080, 1920, 3)
    assert [p.name for p in path.parent.iterdir()] == ["trial_1_end.jpg"]  # no temporary left


def test_a_failed_trial_picture_leaves_no_temporary_file(tmp_path: Path):
    (tmp_path / "trial_1_end.jpg").mkdir()  # a folder in the way: the final rename fails
    with pytest.raises(OSError):
        write_trial_picture(tmp_path / "trial_1_end.jpg", np.zeros((48, 64, 3), np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["trial_1_end.jpg"]


def _frame_bgr(video: Path, index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(video))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
    finally:
        capture.release()
    assert ok, f"cannot read frame {index} of {video}"
    return frame


def _truth_knee_px(frames_csv: Path, index: int, side: str) -> np.ndarray:
    with frames_csv.open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if int(r["frame"]) == index)
    return np.array([float(row[f"{side}_knee_x"]), float(row[f"{side}_knee_y"])])


@pytest.mark.model
def test_real_model_both_legs_are_drawn_when_the_far_leg_is_tested(model_path, shared_dir, tmp_path):
    """dev_test90_far, first trial (far = left leg raised), end position at 9 s; and a still
    frame where the far leg lies behind the near one and MediaPipe scores it poorly visible."""
    from hamflex.media.sources import Frame
    from hamflex.media.pose import PoseEstimator

    video = shared_dir / "synthetic" / "dev_test90_far.mp4"
    raised_frame, still_frame = 270, 30
    with PoseEstimator(model_path, image_mode=True) as estimator:
        poses = {i: estimator.detect(Frame(i, i * 33, cv2.cvtColor(_frame_bgr(video, i), cv2.COLOR_BGR2RGB)))
                 for i in (raised_frame, still_frame)}
    pose = poses[raised_frame]
    assert pose.detected
    points = pose.landmarks_px
    truth_knee = _truth_knee_px(shared_dir / "synthetic" / "dev_test90_far_frames.csv", raised_frame, "left")
    raised = min(SIDES, key=lambda s: float(np.linalg.norm(points[side_index(s, "knee")] - truth_knee)))
    lying = "left" if raised == "right" else "right"
    image = _frame_bgr(video, raised_frame)
    draw_skeleton(image, points, pose.visibility, 0.5, tested_side="left", tested_leg_label=raised)
    assert _colour_fraction(image, *_thigh(points, raised), LEFT_BGR, tolerance=40) > 0.9
    assert _colour_fraction(image, *_thigh(points, lying), RIGHT_BGR, tolerance=40) > 0.9
    evidence = draw_trial_evidence(_frame_bgr(video, raised_frame), points, pose.visibility, "left", 13.3, 91.9,
                                   "Trial 1 - left leg - valid", tested_leg_label=raised)
    assert cv2.imread(str(write_trial_picture(tmp_path / "trial_1_end.jpg", evidence))).shape == (540, 960, 3)

    still = poses[still_frame]
    far_knee = side_index("left", "knee")
    assert still.detected and np.isfinite(still.landmarks_px[far_knee]).all()
    image = _frame_bgr(video, still_frame)
    draw_skeleton(image, still.landmarks_px, still.visibility, 0.5, tested_side="left")
    assert _colour_fraction(image, *_thigh(still.landmarks_px, "left"), LEFT_BGR, tolerance=40) >= 0.3


def test_an_unknown_tested_side_is_refused():
    with pytest.raises(ValueError, match="both"):
        draw_skeleton(np.zeros((48, 64, 3), np.uint8), _two_thighs_up(), _visibility(), tested_side="both")
