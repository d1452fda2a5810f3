"""The command line: the only place that builds Settings, configures logging and sets exit codes.

Each command group lives in its own module and registers itself on ``main`` when imported;
``main`` imports a command's module only when the command runs (``base.COMMANDS``), so
``newsletter --help`` and ``newsletter status`` do not load the pipeline.
"""

from __future__ import annotations

from newsletter.cli.base import main

__all__ = ["main"]
