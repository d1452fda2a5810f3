"""The command line: the only place that builds Settings, configures logging and sets exit codes.

Each command group lives in its own module and registers itself on ``main``.
"""

from __future__ import annotations

# Each module below registers its commands on ``main`` when imported.
from newsletter.cli import subscribers as _subscribers  # noqa: F401
from newsletter.cli.base import main

__all__ = ["main"]
from newsletter.cli import status as _status  # noqa: F401
from newsletter.cli import serve as _serve  # noqa: E402,F401
from newsletter.cli import doctor as _doctor  # noqa: F401
from newsletter.cli import inbox as _inbox  # noqa: E402,F401
