"""hamflex: hamstring flexibility from an ordinary camera.

The Python API mirrors the command line; every call saves its results in ``out_dir``::

    from hamflex import analyze_video, run_test90, run_hold, check_setup, LiveOptions

    angles = analyze_video("clip.mp4", "results")             # AnalysisResult: per-frame angles
    knee = angles.angles.smoothed["right_knee_flexion_deg"]   # numpy array, one value per frame

    test = run_test90("trial.mp4", "results", sex="female")   # Test90Result (results/test90.json)
    for trial in test.trials:
        print(trial.side, trial.knee_extension_deficit_deg, trial.valid, trial.reason)

    hold = run_hold("hamstring_seated", "stretch.mp4", "results")  # HoldResult (results/hold.json)
    print(hold.valid_seconds_total, hold.reps_completed)

    live = run_test90("0", "results", live=LiveOptions(display=True))  # webcam 0, live guidance

    from hamflex import BatchSettings, ProtocolSpec, expand_inputs, run_batch, rescore_batch
    settings = BatchSettings(model_path="pose_landmarker_full.task", protocol=ProtocolSpec("test90"))
    report = run_batch(expand_inputs(["study/"]), "study-out", settings, jobs=2)  # resumable, summary.csv

Errors are :class:`HamflexError` subclasses carrying the CLI's exit code (``exit_code``):
:class:`InputError`, :class:`NoPersonError`, :class:`NothingToScoreError`,
:class:`CameraError`, :class:`ModelUnavailableError`, :class:`CameraProfileError`,
:class:`MissingExtraError`.
"""

__version__ = "0.2.0"

from hamflex.errors import (  # noqa: E402
    CameraError,
    CameraProfileError,
    HamflexError,
    InputError,
    MissingExtraError,
    ModelUnavailableError,
    NoPersonError,
    NothingToScoreError,
)

# Public name → the module that defines it; imported on first use, so ``hamflex --version`` stays instant.
_LAZY = {
    "analyze_video": "hamflex.pipelines.offline", "AnalysisResult": "hamflex.pipelines.offline",
    "run_test90": "hamflex.pipelines.api", "run_hold": "hamflex.pipelines.api", "run_routine": "hamflex.pipelines.api",
    "run_slr": "hamflex.pipelines.api", "SlrResult": "hamflex.protocols.slr", "SlrTrial": "hamflex.protocols.slr",
    "check_setup": "hamflex.pipelines.api",
    "run_protocol": "hamflex.pipelines.run",
    "RunOptions": "hamflex.pipelines.options", "LiveOptions": "hamflex.pipelines.options",
    "calibrate_camera": "hamflex.camera.calibrate", "CameraProfile": "hamflex.camera.profile",
    "Test90Result": "hamflex.protocols.test90", "Trial": "hamflex.protocols.test90",
    "HoldResult": "hamflex.protocols.hold", "RoutineResult": "hamflex.protocols.routine", "SetupReport": "hamflex.camera.checks",
    "load_catalog": "hamflex.protocols.catalog", "load_norms": "hamflex.protocols.norms",
    "run_batch": "hamflex.pipelines.batch", "rescore_batch": "hamflex.pipelines.batch",
    "expand_inputs": "hamflex.pipelines.batch", "BatchSettings": "hamflex.pipelines.batch",
    "ProtocolSpec": "hamflex.pipelines.batch",
}

__all__ = [
    "CameraError", "CameraProfileError", "HamflexError", "InputError", "MissingExtraError", "ModelUnavailableError", "NoPersonError",
    "NothingToScoreError", "__version__", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hamflex' has no attribute {name!r}")
