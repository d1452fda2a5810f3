"""The root ``newsletter`` command and the helpers every command shares."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from newsletter import __version__
from newsletter.config import Settings, load_settings
from newsletter.errors import NewsletterError, SettingsError
from newsletter.store.db import Store, describe, engine_url
from newsletter.store.secret import signer_for
from newsletter.tokens import Signer

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What the root command hands to subcommands: settings are loaded lazily, once."""

    def __init__(
        self, env_file: str | None, verbosity: int, *, env_file_given: bool = False
    ) -> None:
        self.env_file = env_file
        self.verbosity = verbosity
        self.env_file_given = env_file_given  # named on the command line, not the default
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The settings from ``--env-file`` (or ``.env``) and ``NEWSLETTER_*``, loaded on first
        use; ``SettingsError`` when one is invalid. A ``--env-file`` that does not exist
        stops the command (exit 2); a missing default ``.env`` is no error."""
        if self._settings is None:
            if self.env_file_given and self.env_file and not Path(self.env_file).exists():
                fail(f"--env-file: no such file: {self.env_file}", 2)
            self._settings = load_settings(self.env_file)
            if self._settings.log_file:
                add_log_file(self._settings.log_file, self.verbosity)
        return self._settings

    def unconfigured(self) -> bool:
        """No settings file (``--env-file`` or ``.env`` here) and no ``NEWSLETTER_*``
        variable: the command would run on the built-in defaults, in whatever folder
        it was started (a cron line that forgot ``cd``)."""
        if self.env_file_given or (self.env_file and Path(self.env_file).exists()):
            return False
        return not any(name.startswith("NEWSLETTER_") for name in os.environ)

    def no_settings_line(self) -> str:
        return (
            f"no settings: no {self.env_file or '.env'} in {Path.cwd()} and no NEWSLETTER_*"
            " variable; run from the install folder, or pass --env-file"
        )

    def require_settings(self) -> None:
        """For commands that send or change the list: stop (exit 2) when unconfigured."""
        if self.unconfigured():
            fail(self.no_settings_line(), 2)

    def open_existing_store(self) -> Store:
        """For read-only commands: warn when unconfigured, and never create a database.
        A SQLite file that does not exist stops the command (exit 2) with one line; an
        existing database is opened (and migrated) as usual."""
        if self.unconfigured():
            click.echo(f"warning: {self.no_settings_line()}", err=True)
        settings = self.settings
        path = sqlite_file(settings.database_url)
        if path is not None and not path.exists():
            fail(
                f"no database at {path.resolve()} (nothing created): nothing has run here"
                " yet; run from the install folder, or set NEWSLETTER_DATABASE_URL",
                2,
            )
        return open_store(settings)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite DATABASE_URL names; None for another database or memory."""
    url = engine_url(url)
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def utc_now() -> dt.datetime:
    """The wall clock, aware UTC: the CLI is where time enters; the library takes ``now``."""
    return dt.datetime.now(dt.UTC)


def open_store(settings: Settings) -> Store:
    """Open (and migrate, on first use) the database named by DATABASE_URL."""
    return Store.open(settings.database_url, now=utc_now())


def make_signer(settings: Settings) -> Signer:
    """The link signer for these settings (``newsletter.store.secret.signer_for``)."""
    return signer_for(settings)


def fail(message: str, code: int = 1) -> None:
    """Print a one-line reason to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn every ``NewsletterError`` into a one-line message and exit status 1; so too a
    database error raised outside ``Store.begin`` (the store wraps its own)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NewsletterError as exc:
            fail(str(exc))
        except SQLAlchemyError as exc:
            fail(describe(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def _level(verbosity: int) -> int:
    return {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)


def configure_logging(verbosity: int) -> None:
    """Messages only on stderr (cron mails them); ``-q`` keeps warnings and errors."""
    level = _level(verbosity)
    handler = logging.StreamHandler(sys.stderr)
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    for noisy in ("httpx", "httpcore", "aiosmtplib", "mail.log", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # flufl.bounce logs each detector at INFO and a traceback for a detector's exception,
    # which inbox.classify catches and handles: neither is news for an operator.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


def add_log_file(path: Path, verbosity: int) -> None:
    """LOG_FILE: the same messages with a timestamp and level, at INFO even with ``-q``."""
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise SettingsError("NEWSLETTER_LOG_FILE", f"cannot open {path}: {exc.strerror}") from None
    handler.setLevel(min(_level(verbosity), logging.INFO))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    for existing in root.handlers:
        if existing is not handler:
            existing.setLevel(root.level)
    root.setLevel(min(root.level, handler.level))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsletter")
@click.option(
    "--env-file",
    default=".env",
    show_default=True,
    help="Read NEWSLETTER_* settings from this file (named here: it must exist).",
)
@click.option("-v", "--verbose", count=True, help="More detail (repeat for debug output).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.pass_context
def main(ctx: click.Context, env_file: str, verbose: int, quiet: bool) -> None:
    """A daily research-paper digest: collect, rank per subscriber, render, send."""
    verbosity = -1 if quiet else verbose
    given = ctx.get_parameter_source("env_file") is not click.core.ParameterSource.DEFAULT
    ctx.obj = Context(env_file, verbosity, env_file_given=given)
    configure_logging(verbosity)


pass_context = click.make_pass_decorator(Context)
