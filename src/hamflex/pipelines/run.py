"""``run_protocol``: the one runner behind every protocol command, for files, photos and cameras.

A recording or photo is analysed first (:func:`~hamflex.pipelines.offline.analyze_video`:
zero-phase smoothed angles, DIR/<stem>/angles.csv and summary.json) and fed to the protocol
frame by frame; a camera runs the live loop (:func:`~hamflex.pipelines.live.run_live_session`).
Either way the protocol's typed result is completed with how it was obtained
(:class:`~hamflex.protocols.base.SessionFields`: source, mode, frames, how it ended, the
start-of-session set-up check, warnings) and saved as ``DIR/<the protocol's result file>``
on every ending — done, nobody in view, Ctrl-C, camera lost, error — before anything is raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hamflex.camera.checks import startup_report
from hamflex.errors import NoPersonError
from hamflex.outputs.files import write_json
from hamflex.outputs.names import PROTOCOL_FILES
from hamflex.pipelines.evidence import with_recording_pictures, with_session_pictures
from hamflex.pipelines.live import run_live_session
from hamflex.pipelines.offline import AnalysisInterrupted, AnalysisResult, analyze_video
from hamflex.pipelines.options import LiveOptions, RunOptions
from hamflex.pipelines.samples import samples_from_series
from hamflex.protocols.base import FrameProtocol


def result_path(out_dir: str | Path, protocol: FrameProtocol) -> Path:
    """Where ``run_protocol`` saves ``protocol``'s result."""
    return Path(out_dir) / PROTOCOL_FILES[protocol.kind]


def run_protocol(source: str | Path, protocol: FrameProtocol, out_dir: str | Path, *,
                 options: RunOptions = RunOptions(), live: LiveOptions | None = None) -> Any:
    """Run ``protocol`` on a recording or photo (``live`` None) or a camera (``live`` given:
    ``source`` is a device index, a stream URL, a video file played as a camera, or a made source
    such as :class:`~hamflex.media.pushed.PushedSource`).

    Returns the protocol's typed result, saved as ``out_dir/<its result file>``. After saving it
    raises what ended the run (KeyboardInterrupt, NoPersonError, CameraError, ...), or the
    protocol's own error when nothing could be scored (NothingToScoreError).
    """
    out_dir = Path(out_dir)
    if live is None:
        result, failure = _run_recording(str(source), protocol, out_dir, options)
        return _saved(result, failure, protocol, out_dir, source)
    result, failure = _run_camera(source, protocol, out_dir, options, live)
    return _saved(result, failure, protocol, out_dir, camera_name(source))


def camera_name(camera: Any) -> str:
    """How a camera is named in the result: ``camera 0``, ``camera rtsp://…``, or an already-made
    source's own description (a browser's camera pushed over the web app's WebSocket)."""
    return f"camera {camera}" if isinstance(camera, (str, int, Path)) else camera.description


def score_and_save(analysis: AnalysisResult, protocol: FrameProtocol, out_dir: str | Path) -> Any:
    """Score an analysis made elsewhere (a batch worker's, or saved landmarks being rescored)
    and save the result exactly as :func:`run_protocol` does, refusal included."""
    return _saved(score_analysis(analysis, protocol), None, protocol, Path(out_dir), analysis.source)


def _saved(result: Any, failure: BaseException | None, protocol: FrameProtocol, out_dir: Path, where: Any) -> Any:
    """Save the result, then raise what ended the run or the protocol's refusal, if any."""
    write_json(result_path(out_dir, protocol), result.to_dict())
    if failure is not None:
        raise failure
    refusal = protocol.nothing_scored(result)
    if refusal is not None:
        raise type(refusal)(f"{where}: {refusal}")
    return result


def _run_recording(path: str, protocol: FrameProtocol, out_dir: Path,
                   options: RunOptions) -> tuple[Any, BaseException | None]:
    """Analyse the recording, feed it to the protocol: (the completed result, what ended it)."""
    try:
        analysis = analyze_video(path, out_dir, model=options.model, offline=options.offline,
                                 camera_profile=options.camera_profile, progress=options.progress,
                                 verbose=options.verbose, max_duration_s=options.max_duration_s)
        failure: BaseException | None = None
    except AnalysisInterrupted as interrupted:  # score the frames measured before Ctrl-C
        analysis, failure = interrupted.result, interrupted
    except NoPersonError as error:
        return protocol.result().with_session(source=path, nothing_reason=str(error)), error
    return with_recording_pictures(score_analysis(analysis, protocol), analysis, out_dir), failure


def score_analysis(analysis: AnalysisResult, protocol: FrameProtocol) -> Any:
    """Feed an analysed recording to the protocol; its result with the start-of-session check."""
    score = protocol.score_photo if analysis.photo else protocol.update
    for sample in samples_from_series(analysis.angles, analysis.poses):
        score(sample)
    setup = None
    if protocol.setup_posture is not None:
        setup = startup_report(analysis.poses, posture=protocol.setup_posture)
    return protocol.result().with_session(
        source=str(analysis.source), mode="photo" if analysis.photo else "video", frames=analysis.frames,
        frames_with_person=analysis.frames_with_pose, complete=analysis.complete, setup=setup,
        warnings=analysis.warnings,
    )


def _run_camera(camera: Any, protocol: FrameProtocol, out_dir: Path, options: RunOptions,
                live: LiveOptions) -> tuple[Any, BaseException | None]:
    """Run the live loop: (the completed result, what ended it)."""
    session = run_live_session(camera, protocol, out_dir, live=live, options=options)
    result = session.protocol_result.with_session(
        source=camera_name(camera), mode="live", frames=session.frames, frames_with_person=session.frames_with_person,
        ended_by=session.ended_by, setup=session.setup, warnings=session.warnings,
    )
    return with_session_pictures(result, session, out_dir), session.failure
