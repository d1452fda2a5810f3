"""``/archive/``: the web versions of past editions and the feed, straight from ARCHIVE_DIR.

Starlette's ``StaticFiles`` resolves every path inside the folder (no ``..`` or symlink
escape) and serves ``index.html`` for the folder itself.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send


class ArchiveFiles(StaticFiles):
    """Static files that answer 404 (not a crash) while the archive folder does not exist."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False, follow_symlink=False)
        self.folder = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the file, or 404 while ARCHIVE_DIR does not exist yet."""
        if not self.folder.is_dir():
            raise HTTPException(status_code=404)
        await super().__call__(scope, receive, send)
