"""The ``hamflex`` command line."""

from hamflex.cli.app import app, main

__all__ = ["app", "main"]
