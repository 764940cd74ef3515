"""The history as CSV or JSON, one row per session (``hamflex history --export``)."""

from __future__ import annotations

import csv
import json
import io
from collections.abc import Iterable
from typing import Any

from hamflex.history.store import Session
from hamflex.outputs.files import json_text


EXPORT_FIELDS = ("id", "recorded_at", "person", "kind", "source", "left_deficit_deg", "right_deficit_deg",
                 "valid_seconds_total", "reps_completed", "left_slr_hip_flexion_deg", "right_slr_hip_flexion_deg",
                 "result")


def export_rows(sessions: Iterable[Session]) -> list[dict[str, Any]]:
    """One flat dictionary per session (the full result under ``result``)."""
    return [
        {"id": s.id, "recorded_at": s.recorded_at.isoformat(), "person": s.person, "kind": s.kind,
         "source": s.source, **s.summary(), "result": s.result}
        for s in sessions
    ]


def export_sessions(sessions: Iterable[Session], fmt: str) -> str:
    """The sessions as ``json`` (a list of objects) or ``csv`` (the result as a JSON column)."""
    rows = export_rows(sessions)
    if fmt == "json":
        return json_text(rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "result": json.dumps(row["result"], ensure_ascii=False, sort_keys=True)})
        return buffer.getvalue()
    raise ValueError(f"unknown export format {fmt!r}; choose csv or json")
