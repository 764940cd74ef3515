"""hamflex: hamstring flexibility from an ordinary camera.

The Python API mirrors the CLI: ``analyze_video`` turns a recorded video (or a still
photo) into per-frame hip and knee angles.
"""

__version__ = "0.1.0"

from hamflex.analysis import AnalysisResult, analyze_video  # noqa: E402
from hamflex.errors import HamflexError  # noqa: E402

__all__ = ["AnalysisResult", "HamflexError", "__version__", "analyze_video"]
