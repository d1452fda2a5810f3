"""The signing key: ``SECRET_KEY``, or for a SQLite install one generated beside its database."""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

from newsletter.config import Settings
from newsletter.errors import SettingsError
from newsletter.tokens import Signer

log = logging.getLogger(__name__)


def signer_for(settings: Settings) -> Signer:
    """The token signer. Without SECRET_KEY, a SQLite install keeps a generated key beside
    its database (so links in sent emails keep working); PostgreSQL installs must set one."""
    previous = [k.strip() for k in settings.previous_secret_keys.split(",") if k.strip()]
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return Signer.from_secrets(settings.secret_key.get_secret_value(), previous)
    url = settings.database_url
    if not url.startswith("sqlite") or ":///" not in url or url.endswith(":memory:"):
        raise SettingsError(
            "NEWSLETTER_SECRET_KEY", "required with this DATABASE_URL (any long random string)"
        )
    key_file = Path(url.split(":///", 1)[1]).parent / "secret_key"
    return Signer.from_secrets(_read_or_create(key_file), previous)


def _read_or_create(key_file: Path) -> str:
    """The key in ``key_file``, created once (O_EXCL: two first runs cannot both write one)."""
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SettingsError(
            "NEWSLETTER_SECRET_KEY", f"not set, and {key_file} cannot be made: {exc.strerror}"
        ) from None
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        log.warning("NEWSLETTER_SECRET_KEY is not set: generated one in %s", key_file)
    for _ in range(50):  # another process may be writing it this very moment
        key = key_file.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise SettingsError(
        "NEWSLETTER_SECRET_KEY", f"{key_file} is empty: delete it, or set NEWSLETTER_SECRET_KEY"
    )
