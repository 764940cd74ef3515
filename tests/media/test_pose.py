"""Pose stage: the validated per-frame result, person selection, and the real model."""

import subprocess
import sys

import numpy as np
import pytest

from hamflex.media.sources import PhotoSource, VideoSource
from hamflex.core.landmarks import NUM_LANDMARKS, POSE_CONNECTIONS, side_index
from hamflex.media.pose import PoseEstimator, PoseFrame, select_person


def test_skeleton_edges_match_mediapipe():
    from mediapipe.tasks.python import vision

    assert POSE_CONNECTIONS == tuple((c.start, c.end) for c in vision.PoseLandmarksConnections.POSE_LANDMARKS)


def test_pose_frame_validates_shapes():
    with pytest.raises(ValueError, match="landmarks_norm"):
        PoseFrame(0, 0, 640, 480, landmarks_norm=np.zeros((17, 3)))
    empty = PoseFrame(0, 0, 640, 480)
    assert not empty.detected and np.isnan(empty.landmarks_px).all()


def test_pixel_landmarks_use_the_frame_size():
    normalized = np.full((NUM_LANDMARKS, 3), 0.5, np.float32)
    frame = PoseFrame(0, 0, 1920, 1080, landmarks_norm=normalized, people_in_view=1)
    np.testing.assert_allclose(frame.landmarks_px[0], [960, 540])


def _person(centre_x, height):
    points = np.zeros((NUM_LANDMARKS, 2))
    points[:, 1] = np.linspace(0, height, NUM_LANDMARKS)
    points[:, 0] = centre_x + np.linspace(-height / 6, height / 6, NUM_LANDMARKS)
    points[side_index("left", "hip")] = points[side_index("right", "hip")] = (centre_x, height / 2)
    return points


def test_largest_person_first_then_followed_over_time():
    small, large = _person(100, 200), _person(600, 400)
    assert select_person([small, large], None, None) == 1
    # the analysed (large) person walked far away and got smaller: still followed while
    # the jump between frames is small
    followed = select_person([_person(110, 200), _person(600, 300)], np.array([120.0, 100.0]), 200.0)
    assert followed == 0
    # nobody near the previous position: back to the largest
    assert select_person([small, large], np.array([2000.0, 2000.0]), 200.0) == 1


def test_real_model_on_a_real_video(model_path, shared_dir):
    with VideoSource(shared_dir / "videos/real/physioplus_bridging_supine_side.mp4") as source, \
            PoseEstimator(model_path) as estimator:
        poses = [estimator.detect(frame) for frame in source]
    detected = [p for p in poses if p.detected]
    assert len(detected) >= 0.9 * len(poses)
    pose = detected[len(detected) // 2]
    assert 0 <= np.nanmin(pose.visibility) and np.nanmax(pose.visibility) <= 1
    thigh_m = np.linalg.norm(pose.world_landmarks_m[side_index("left", "hip")] - pose.world_landmarks_m[side_index("left", "knee")])
    assert 0.2 < thigh_m < 0.7  # metres: a human thigh


def test_image_mode_on_a_photo(model_path, shared_dir):
    with PhotoSource(shared_dir / "photos/free-exercise-db/Lying_Hamstring/1.jpg") as source, \
            PoseEstimator(model_path, image_mode=True) as estimator:
        pose = estimator.detect(next(iter(source)))
    assert pose.detected and pose.image_width == 850


def test_two_people_in_view_the_largest_is_followed(model_path, shared_dir):
    with VideoSource(shared_dir / "videos/sports2d_demo.mp4") as source, PoseEstimator(model_path, num_poses=2) as estimator:
        poses = [estimator.detect(frame) for _, frame in zip(range(60), source)]
    assert max(p.people_in_view for p in poses) == 2
    # once the walker is fully in view (the first ~10 frames flicker as he enters), the
    # analysed person never switches to the other one, whose hips are >300 px away
    hips = np.array([(p.landmarks_px[23] + p.landmarks_px[24]) / 2 for p in poses[10:]])
    jumps = np.linalg.norm(np.diff(hips, axis=0), axis=1)
    assert np.nanmax(jumps) < 60


def test_mediapipe_native_logs_are_hidden_unless_verbose(model_path, shared_dir):
    script = (
        "from hamflex.media.sources import PhotoSource\n"
        "from hamflex.media.pose import PoseEstimator\n"
        "import sys\n"
        f"src = PhotoSource({str(shared_dir / 'photos/free-exercise-db/Lying_Hamstring/1.jpg')!r})\n"
        f"with PoseEstimator({str(model_path)!r}, image_mode=True, verbose=sys.argv[1] == 'v') as e:\n"
        "    e.detect(next(iter(src)))\n"
        "    print('hamflex says hi', file=sys.stderr)\n"
    )
    quiet = subprocess.run([sys.executable, "-c", script, "q"], capture_output=True, text=True, check=True)
    assert quiet.stderr.strip() == "hamflex says hi"
    loud = subprocess.run([sys.executable, "-c", script, "v"], capture_output=True, text=True, check=True)
    assert len(loud.stderr.splitlines()) > 10
