"""The ``hamflex`` command line: ``app`` (typer) and ``main`` (the script's entry point)."""

from hamflex.cli import manage, measure, serve  # noqa: F401  (each module registers its commands on the app)
from hamflex.cli.app import app, main

__all__ = ["app", "main"]
