"""The command line: the only place that builds Settings, configures logging and sets exit codes.

Each command group lives in its own module and registers itself on ``main`` when imported.
"""

from __future__ import annotations

from newsletter.cli import db as _db  # noqa: F401
from newsletter.cli import doctor as _doctor  # noqa: F401
from newsletter.cli import edition as _edition  # noqa: F401
from newsletter.cli import inbox as _inbox  # noqa: F401
from newsletter.cli import run as _run  # noqa: F401
from newsletter.cli import send as _send  # noqa: F401
from newsletter.cli import serve as _serve  # noqa: F401
from newsletter.cli import status as _status  # noqa: F401
from newsletter.cli import subscribers as _subscribers  # noqa: F401
from newsletter.cli.base import main

__all__ = ["main"]
