"""A camera profile: the lens (focal lengths, principal point, distortion) as JSON, and undistortion.

A wide-angle lens bends straight lines towards the edges of the picture, which bends the
angles measured there. :class:`CameraProfile` stores what ``hamflex calibrate`` estimated, and
``CameraProfile.undistort_pose`` moves the landmarks of a pose to where a distortion-free lens
would have put them (points only: the pixels are never remapped, so it is cheap enough for
every frame).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from hamflex.errors import CameraProfileError, InputError
from hamflex.outputs.files import write_json

PROFILE_KIND = "hamflex-camera-profile"
PROFILE_VERSION = 1
ASPECT_TOLERANCE = 0.003
"""Relative difference in width/height ratio still treated as "same shape" when scaling."""
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 50, 1e-6)


# --- the camera profile ----------------------------------------------------------------


@dataclass(frozen=True)
class CameraProfile:
    """A calibrated camera: intrinsics in pixels of ``image_width`` x ``image_height`` frames.

    ``dist_coeffs`` are OpenCV's (k1, k2, p1, p2, k3); ``rms_reprojection_error_px`` says how
    well the model fitted the calibration views (below ~1 px is good).
    """

    image_width: int
    image_height: int
    fx: float
    fy: float
    cx: float
    cy: float
    dist_coeffs: tuple[float, ...]
    rms_reprojection_error_px: float
    created: str = field(default_factory=lambda: _dt.date.today().isoformat())
    views_used: int = 0
    board: str = ""

    def __post_init__(self) -> None:
        if self.image_width <= 0 or self.image_height <= 0:
            raise ValueError(f"image size must be positive, got {self.image_width}x{self.image_height}")
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if len(self.dist_coeffs) not in (4, 5, 8, 12, 14):
            raise ValueError(f"dist_coeffs must have 4, 5, 8, 12 or 14 values, got {len(self.dist_coeffs)}")

    @property
    def camera_matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.image_width, self.image_height)

    def to_dict(self) -> dict:
        return {
            "kind": PROFILE_KIND,
            "version": PROFILE_VERSION,
            "image_width": self.image_width,
            "image_height": self.image_height,
            "fx": self.fx,
            "fy": self.fy,
            "cx": self.cx,
            "cy": self.cy,
            "dist_coeffs": list(self.dist_coeffs),
            "rms_reprojection_error_px": self.rms_reprojection_error_px,
            "created": self.created,
            "views_used": self.views_used,
            "board": self.board,
        }

    def save(self, path: str | Path) -> Path:
        return write_json(Path(path), self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> CameraProfile:
        """Read a profile written by :meth:`save`; :class:`InputError` if it is not one."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such camera profile") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(f"{path}: not a readable camera profile ({error})") from None
        if not isinstance(data, dict) or data.get("kind") != PROFILE_KIND:
            raise InputError(f"{path}: not a hamflex camera profile (make one with `hamflex calibrate`)")
        try:
            return cls(
                image_width=int(data["image_width"]),
                image_height=int(data["image_height"]),
                fx=float(data["fx"]),
                fy=float(data["fy"]),
                cx=float(data["cx"]),
                cy=float(data["cy"]),
                dist_coeffs=tuple(float(v) for v in data["dist_coeffs"]),
                rms_reprojection_error_px=float(data["rms_reprojection_error_px"]),
                created=str(data.get("created", "")),
                views_used=int(data.get("views_used", 0)),
                board=str(data.get("board", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{path}: camera profile is incomplete or invalid ({error})") from None

    def for_image_size(self, width: int, height: int) -> CameraProfile:
        """This profile for ``width`` x ``height`` frames: itself, or scaled when only the
        resolution differs (same shape); :class:`CameraProfileError` otherwise."""
        if (width, height) == self.image_size:
            return self
        size_text = f"{self.image_width}x{self.image_height}"
        if (width > height) != (self.image_width > self.image_height) and width != height:
            raise CameraProfileError(
                f"the camera profile is for {size_text} frames but the video is {width}x{height}: "
                "it was recorded in the other orientation (portrait vs landscape); calibrate in the orientation you record in"
            )
        aspect_difference = abs(width * self.image_height - height * self.image_width) / (height * self.image_width)
        if aspect_difference > ASPECT_TOLERANCE:
            raise CameraProfileError(
                f"the camera profile is for {size_text} frames but the video is {width}x{height} "
                "(a different shape, so probably cropped): calibrate at the resolution you record with"
            )
        scale_x, scale_y = width / self.image_width, height / self.image_height
        # Pixel centres sit at integer coordinates, so x' = (x + 0.5) * s - 0.5.
        return replace(
            self,
            image_width=width,
            image_height=height,
            fx=self.fx * scale_x,
            fy=self.fy * scale_y,
            cx=(self.cx + 0.5) * scale_x - 0.5,
            cy=(self.cy + 0.5) * scale_y - 0.5,
        )

    def undistort_points_px(self, points_px: np.ndarray) -> np.ndarray:
        """Pixel positions as a distortion-free lens with the same focal length would show them.

        ``points_px`` is ``(..., 2)``; rows with a NaN stay NaN. Iterates to convergence
        (OpenCV's default of 5 fixed iterations leaves errors near the corners).
        """
        points = np.asarray(points_px, dtype=np.float64)
        if points.shape[-1] != 2:
            raise ValueError(f"points must have shape (..., 2), got {points.shape}")
        flat = points.reshape(-1, 2)
        result = np.full_like(flat, np.nan)
        finite = np.isfinite(flat).all(axis=1)
        if finite.any():
            undistorted = cv2.undistortPoints(
                flat[finite].reshape(-1, 1, 2), self.camera_matrix, np.asarray(self.dist_coeffs, dtype=np.float64),
                P=self.camera_matrix, criteria=_UNDISTORT_CRITERIA,
            )
            result[finite] = undistorted.reshape(-1, 2)
        return result.reshape(points.shape)

    def undistort_pose(self, pose_frame):
        """``pose_frame`` (a :class:`~hamflex.media.pose.PoseFrame`) with undistorted image landmarks.

        Only the normalized image coordinates change (x, y; MediaPipe's relative depth z and
        the metric world landmarks are kept). Frames of another resolution with the same
        shape are handled by scaling; another shape raises :class:`CameraProfileError`.
        """
        if not pose_frame.detected:
            return pose_frame
        profile = self.for_image_size(pose_frame.image_width, pose_frame.image_height)
        size = np.array([pose_frame.image_width, pose_frame.image_height], dtype=np.float64)
        undistorted_px = profile.undistort_points_px(pose_frame.landmarks_norm[:, :2].astype(np.float64) * size)
        landmarks_norm = pose_frame.landmarks_norm.copy()
        landmarks_norm[:, :2] = (undistorted_px / size).astype(landmarks_norm.dtype)
        return replace(pose_frame, landmarks_norm=landmarks_norm)


def load_profile(profile: CameraProfile | str | Path | None) -> CameraProfile | None:
    """A profile given as an object or a path (``None`` stays ``None``)."""
    if profile is None or isinstance(profile, CameraProfile):
        return profile
    return CameraProfile.load(profile)


def field_of_view_deg(profile: CameraProfile) -> tuple[float, float]:
    """Horizontal and vertical field of view of the (undistorted) camera."""
    return (
        math.degrees(2 * math.atan(profile.image_width / (2 * profile.fx))),
        math.degrees(2 * math.atan(profile.image_height / (2 * profile.fy))),
    )


