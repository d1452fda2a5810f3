"""The command line: the only place that builds Settings, configures logging and sets exit codes.

Each command group lives in its own module and registers itself on ``main``.
"""

from __future__ import annotations

from newsletter.cli.base import main

__all__ = ["main"]
