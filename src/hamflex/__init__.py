"""hamflex: hamstring flexibility from an ordinary camera.

The Python API mirrors the CLI: ``analyze_video`` turns a recorded video (or a still
photo) into per-frame hip and knee angles.
"""

__version__ = "0.1.0"

from hamflex.errors import HamflexError  # noqa: E402

__all__ = ["AnalysisResult", "HamflexError", "__version__", "analyze_video"]


def __getattr__(name: str):
    """Import the pipeline on first use, so ``hamflex --version`` stays instant."""
    if name in ("analyze_video", "AnalysisResult"):
        from hamflex.pipelines import offline as analysis

        return getattr(analysis, name)
    raise AttributeError(f"module 'hamflex' has no attribute {name!r}")
