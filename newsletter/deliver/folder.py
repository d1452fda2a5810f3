"""A dry run's output: each rendered email as ``<date>-<address>.eml`` plus its ``.html``.

The ``.eml`` holds the exact bytes that would be sent (open it in a mail client); the
``.html`` the HTML part (open it in a browser). Names as in the Maildir's HTML copies.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from newsletter.deliver.maildir import html_copy_name, html_part
from newsletter.errors import DeliveryError
from newsletter.files import PUBLIC, write_atomic
from newsletter.models import Message


def new_folder(date: dt.date) -> Path:
    """A fresh folder under the system's temporary directory, for one dry run."""
    return Path(tempfile.mkdtemp(prefix=f"newsletter-dry-run-{date}-"))


class FolderWriter:
    """Writes messages into ``folder`` (created if missing); ``written`` counts them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.written = 0
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(str(folder), f"cannot create the folder: {exc.strerror}") from None

    def write(self, message: Message) -> Path:
        """Write one message; returns the ``.eml`` path."""
        stem = html_copy_name(message).removesuffix(".html")
        eml = self.folder / f"{stem}.eml"
        try:
            eml.write_bytes(message.data)
            write_atomic(self.folder / f"{stem}.html", html_part(message), mode=PUBLIC)
        except OSError as exc:
            raise DeliveryError(message.to, f"cannot write {eml}: {exc.strerror}") from None
        self.written += 1
        return eml
