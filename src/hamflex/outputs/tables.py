"""Per-frame angle tables as CSV (stdlib csv), with units in the column names."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path

from hamflex.core.geometry import LEG_ANGLE_NAMES, to_3d_name
from hamflex.core.landmarks import SIDES
from hamflex.outputs.files import atomic_write
from hamflex.core.series import AngleSeries, smoothed_name

ANGLE_COLUMNS: tuple[str, ...] = (
    "trunk_to_horizontal_deg",
    *(f"{side}_{name}" for side in SIDES for name in LEG_ANGLE_NAMES),
    *(f"{side}_{to_3d_name(name)}" for side in SIDES for name in LEG_ANGLE_NAMES),
)
VISIBILITY_COLUMNS = tuple(f"{side}_leg_visibility" for side in SIDES)
CSV_COLUMNS: tuple[str, ...] = (
    "frame",
    "timestamp_ms",
    "detected",
    *ANGLE_COLUMNS,
    *VISIBILITY_COLUMNS,
    *(smoothed_name(name) for name in ANGLE_COLUMNS),
)


def _format(value: object) -> object:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.2f}"
    return value


class CsvSink:
    """A CSV table written row by row (for live sessions); use as a context manager."""

    def __init__(self, path: Path, columns: tuple[str, ...] = CSV_COLUMNS) -> None:
        self.path = Path(path)
        self.columns = columns
        self._handle = None
        self._writer = None

    def __enter__(self) -> CsvSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "w", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._handle, fieldnames=self.columns, extrasaction="ignore")
        self._writer.writeheader()
        return self

    def write_row(self, row: Mapping[str, object]) -> None:
        self._writer.writerow({key: _format(value) for key, value in row.items()})

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()


def angle_row(frame: int, timestamp_ms: int, detected: bool, raw: Mapping[str, float],
              smoothed: Mapping[str, float], leg_visibility: Mapping[str, float]) -> dict[str, object]:
    """One frame's CSV row: offline (from an AngleSeries) and live (``--record``) alike."""
    row: dict[str, object] = {"frame": int(frame), "timestamp_ms": int(timestamp_ms), "detected": int(detected)}
    for name in ANGLE_COLUMNS:
        row[name] = float(raw[name])
        row[smoothed_name(name)] = float(smoothed[name])
    for side in SIDES:
        row[f"{side}_leg_visibility"] = float(leg_visibility[side])
    return row


def angle_rows(angles: AngleSeries, frame_index) -> list[dict[str, object]]:
    """One dictionary per frame with every CSV column."""
    return [
        angle_row(
            frame_index[i], angles.timestamp_ms[i], angles.detected[i],
            {name: angles.raw[name][i] for name in ANGLE_COLUMNS},
            {name: angles.smoothed[name][i] for name in ANGLE_COLUMNS},
            {side: angles.leg_visibility[side][i] for side in SIDES},
        )
        for i in range(len(angles))
    ]


def write_angles_csv(path: Path, angles: AngleSeries, frame_index) -> Path:
    """Write the whole angle table atomically."""
    with atomic_write(path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in angle_rows(angles, frame_index):
            writer.writerow({key: _format(value) for key, value in row.items()})
    return Path(path)


def read_angles_csv(path: Path) -> dict[str, list[float]]:
    """Read a table written by :func:`write_angles_csv` back into columns (blank = NaN)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns: dict[str, list[float]] = {name: [] for name in reader.fieldnames or ()}
        for row in reader:
            for name, value in row.items():
                columns[name].append(float(value) if value != "" else math.nan)
    return columns
