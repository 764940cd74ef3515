"""Every file name hamflex writes, defined once (docs/user-guide.md lists what each holds)."""

from __future__ import annotations

# Per analysed recording, in OUT/<recording>/ (``hamflex analyze``, and beside every protocol).
ANGLES_CSV = "angles.csv"
SUMMARY_JSON = "summary.json"
OVERLAY_VIDEO = "overlay.mp4"
OVERLAY_IMAGE = "overlay.png"  # a photo's overlay

# Protocol results, in OUT/.
TEST90_JSON = "test90.json"
HOLD_JSON = "hold.json"
SETUP_JSON = "setup_check.json"
ROUTINE_JSON = "routine.json"
PROTOCOL_FILES = {"test90": TEST90_JSON, "hold": HOLD_JSON, "setup": SETUP_JSON, "routine": ROUTINE_JSON}
"""The result file of each protocol kind."""

# Live sessions: OUT/live_session.json, and the --record folder.
LIVE_SESSION_JSON = "live_session.json"
RECORD_VIDEO = "raw.mp4"
RECORD_LANDMARKS_CSV = "landmarks.csv"
RECORD_CUES_WAV = "cues.wav"
RECORD_SESSION_JSON = "session.json"

# Reports.
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"


def trial_picture(number: int) -> str:
    """The end-position picture of trial ``number`` (1-based), beside the protocol's JSON."""
    return f"trial_{number}_end.jpg"
