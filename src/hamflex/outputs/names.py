"""Every file name hamflex writes, defined once (docs/user-guide.md lists what each holds)."""

from __future__ import annotations

# Per analysed recording, in OUT/<recording>/ (``hamflex analyze``, and beside every protocol).
ANGLES_CSV = "angles.csv"
SUMMARY_JSON = "summary.json"
LANDMARKS_NPZ = "landmarks.npz"  # every frame's landmarks, visibility and world landmarks
TRC_FILE = "landmarks.trc"  # --export trc: OpenSim marker trajectories
MOT_FILE = "angles.mot"  # --export mot: OpenSim joint angles
OVERLAY_VIDEO = "overlay.mp4"
OVERLAY_IMAGE = "overlay.png"  # a photo's overlay

# Protocol results, in OUT/.
TEST90_JSON = "test90.json"
HOLD_JSON = "hold.json"
SETUP_JSON = "setup_check.json"
ROUTINE_JSON = "routine.json"
SLR_JSON = "slr.json"
TRIAL_LANDMARKS_JSON = "trial_landmarks.json"  # each trial picture's landmarks (90-90 and leg raise), for corrections by hand
PROTOCOL_FILES = {"test90": TEST90_JSON, "hold": HOLD_JSON, "setup": SETUP_JSON, "routine": ROUTINE_JSON, "slr": SLR_JSON}
"""The result file of each protocol kind."""

# Batches (several inputs, folders, globs), in OUT/.
BATCH_JSON = "batch.json"  # each input's state: what a rerun skips
BATCH_SUMMARY_CSV = "summary.csv"  # one row per input

# Live sessions: OUT/live_session.json, and the --record folder.
LIVE_SESSION_JSON = "live_session.json"
RECORD_VIDEO = "raw.mp4"
RECORD_LANDMARKS_CSV = "landmarks.csv"
RECORD_CUES_WAV = "cues.wav"
RECORD_SESSION_JSON = "session.json"

# The web app (``hamflex serve``), in DATA/sessions/<id>/.
WEB_STATUS_JSON = "status.json"  # queued/running/done/failed, progress and error
WEB_UPLOAD_STEM = "upload"  # the uploaded file, named by the server: upload.<allowed suffix>

# Reports.
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"


def trial_picture(number: int) -> str:
    """The end-position picture of trial ``number`` (1-based), beside the protocol's JSON."""
    return f"trial_{number}_end.jpg"


def trial_frame(number: int) -> str:
    """The same end-position frame undrawn, redrawn from when a landmark is corrected by hand."""
    return f"trial_{number}_frame.jpg"
