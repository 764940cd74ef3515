"""Errors a user can cause, each with the documented exit code of the CLI.

Exit codes (also in docs/cli.md):

==== =====================================================================
0    success
1    unexpected internal error (a bug: please report it)
2    wrong command-line usage (also: ``hamflex serve`` without the ``web`` extra)
3    input missing, unreadable, empty, corrupt or not a video/photo
4    no person found in the input
5    pose model not available (offline and none cached, or a bad file)
6    camera could not be opened, or was lost
7    the protocol found nothing to score (no 90-90 trial, no valid hold)
8    camera profile does not fit the video
9    an optional extra is needed but not installed (e.g. ``--ray``: ``pip install 'hamflex[ray]'``)
130  interrupted (Ctrl-C); what was measured so far is saved
==== =====================================================================
"""

from __future__ import annotations


class HamflexError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    exit_code = 1


class InputError(HamflexError):
    """The input file is missing, empty, corrupt or not a video/photo."""

    exit_code = 3


class NoPersonError(HamflexError):
    """MediaPipe found nobody in the whole input."""

    exit_code = 4


class ModelUnavailableError(HamflexError):
    """No pose model could be found or downloaded."""

    exit_code = 5


class CameraError(HamflexError):
    """A live camera could not be opened or stopped delivering frames."""

    exit_code = 6


class NothingToScoreError(HamflexError):
    """The protocol found no trial or hold to score."""

    exit_code = 7


class CameraProfileError(HamflexError):
    """A camera profile does not match the video it is applied to."""

    exit_code = 8


class MissingExtraError(HamflexError):
    """A command or option needs an optional extra that is not installed (the message says which:
    ``pip install "hamflex[web]"``, ``"hamflex[ray]"``)."""

    exit_code = 9


EXIT_INTERRUPTED = 130
