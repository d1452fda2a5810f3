"""Writing files so that a reader never sees half of one, with the mode they need.

Modes: ``PUBLIC`` (0644) for what a web server or another user may read (the archive, the
HTML copies of an outbox or a dry run); ``PRIVATE`` (0600) for the rest (the default:
``mkstemp`` makes files 0600). The database and the secret key are 0600 too
(``newsletter.store.db``, ``newsletter.store.secret``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PUBLIC = 0o644
PRIVATE = 0o600


def write_atomic(path: Path, text: str, *, mode: int = PRIVATE) -> None:
    """Write ``text`` to a temporary file beside ``path`` with permissions ``mode`` (not
    changed by the umask), then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
