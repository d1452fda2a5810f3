"""The root ``newsletter`` command and the helpers every command shares."""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from newsletter import __version__
from newsletter.errors import NewsletterError, SettingsError

if TYPE_CHECKING:
    from newsletter.config import Settings
    from newsletter.status_settings import StatusSettings
    from newsletter.store.db import Store
    from newsletter.tokens import Signer

# The settings (pydantic), the database (SQLAlchemy) and the signer are imported where they
# are first used, not here: `newsletter --help` needs none of them (see COMMANDS below).

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
        self._log_file_open = False

    @property
    def settings(self) -> Settings:
        """The settings from ``--env-file`` (or ``.env``) and ``NEWSLETTER_*``, loaded on first
        use; ``SettingsError`` when one is invalid (a FROM or REPLY_ADDRESS whose local part
        leaves no room for reply tokens included). A ``--env-file`` that does not exist
        stops the command (exit 2); a missing default ``.env`` is no error."""
        if self._settings is None:
            self._require_env_file()
            from newsletter.config import load_settings
            from newsletter.links import check_reply_address

            loaded = load_settings(self.env_file)
            # A reply (or VERP) address too long to make is found now, not mid-run.
            check_reply_address(loaded)
            self._settings = loaded
            self._open_log_file(loaded.log_file)
        return self._settings

    def status_settings(self) -> StatusSettings:
        """The few settings ``status`` reads, from the same places and by the same rules as
        ``settings`` but without pydantic (``newsletter.status_settings``): a fast start."""
        self._require_env_file()
        from newsletter.status_settings import load_status_settings

        found = load_status_settings(self.env_file)
        self._open_log_file(found.log_file)
        return found

    def _require_env_file(self) -> None:
        if self.env_file_given and self.env_file and not Path(self.env_file).exists():
            fail(f"--env-file: no such file: {self.env_file}", 2)

    def _open_log_file(self, path: Path | None) -> None:
        if path and not self._log_file_open:
            add_log_file(path, self.verbosity)
            self._log_file_open = True

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

    def require_database(self, database_url: str | None = None) -> None:
        """For commands that read or change what is already there: warn when unconfigured;
        a SQLite file that does not exist stops the command (exit 2) with one line, before
        anything could create it. ``database_url``: DATABASE_URL when already read."""
        if self.unconfigured():
            click.echo(f"warning: {self.no_settings_line()}", err=True)
        path = sqlite_file(database_url or self.settings.database_url)
        if path is not None and not path.exists():
            fail(
                f"no database at {path.resolve()} (nothing created): nothing has run here"
                " yet; run from the install folder, or set NEWSLETTER_DATABASE_URL",
                2,
            )
        refuse_unmade(path)

    def open_existing_store(self) -> Store:
        """For read-only commands, and changes to existing readers: ``require_database``,
        then the database opened (and migrated) as usual; never a new one."""
        self.require_database()
        return open_store(self.settings)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite DATABASE_URL names; None for another database or memory."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def iso_date(_ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A click callback for a date option or argument: ``YYYY-MM-DD`` as a ``date``; anything
    else stops the command before it starts, with one line naming the option (a usage
    error, exit 2): ``error: --date: expected YYYY-MM-DD, got '2026-13-01'``."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        name = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
        fail(f"{name}: expected YYYY-MM-DD, got {value!r}", 2)
        raise  # fail exits; this line is for the type checker


def utc_now() -> dt.datetime:
    """The wall clock, aware UTC: the CLI is where time enters; the library takes ``now``."""
    return dt.datetime.now(dt.UTC)


def refuse_unmade(path: Path | None) -> None:
    """Stop (exit 2, one line) when ``path`` is an existing SQLite file that is no
    newsletter database (``unmade_database``): the list is never silently rebuilt empty."""
    from newsletter.store.sqlite_file import unmade_database

    why = unmade_database(path) if path is not None else None
    if why is not None and path is not None:
        fail(
            f"database {path.resolve()} {why}; nothing was changed. Restore it from a"
            " backup, or `newsletter db upgrade` to create an empty schema in it deliberately",
            2,
        )


def open_store(settings: Settings) -> Store:
    """Open (and migrate, on first use) the database named by DATABASE_URL; an existing
    SQLite file that is no newsletter database stops the command (``refuse_unmade``)."""
    refuse_unmade(sqlite_file(settings.database_url))
    from newsletter.store.db import Store

    return Store.open(settings.database_url, now=utc_now())


def make_signer(settings: Settings) -> Signer:
    """The link signer for these settings (``newsletter.store.secret.signer_for``)."""
    from newsletter.store.secret import signer_for

    return signer_for(settings)


def fail(message: str, code: int = 1) -> None:
    """Print a one-line reason to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn every ``NewsletterError`` into a one-line message and exit status 1 (2 for a
    ``SettingsError``: a bad setting is a usage error); so too a database error raised
    outside ``Store.begin`` (the store wraps its own)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SettingsError as exc:
            fail(str(exc), 2)
        except NewsletterError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            if not isinstance(exc, SQLAlchemyError):
                raise
            from newsletter.store.db import describe

            fail(describe(exc))

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


# Each command's module, and its one-line help: `newsletter --help` prints these without
# importing anything, and a command's module (with what it needs: the pipeline, scipy …)
# is imported only when that command runs. tests/cli/test_startup.py checks the lines
# against the commands' own docstrings.
COMMANDS: dict[str, tuple[str, str]] = {
    "db": (
        "newsletter.cli.db",
        "The database: apply or list migrations, copy to another database.",
    ),
    "demo": (
        "newsletter.cli.run",
        "Run the daily job offline on the bundled sample day, into a local Maildir.",
    ),
    "doctor": (
        "newsletter.cli.doctor",
        "Check settings, database, SMTP, IMAP, BASE_URL, sources and templates; print DNS records.",
    ),
    "edition": ("newsletter.cli.edition", "Frozen editions: collect one again."),
    "inbox": (
        "newsletter.cli.inbox",
        "Read the reply mailbox: commands by reply, and bounces (needs IMAP_HOST).",
    ),
    "preview": (
        "newsletter.cli.run",
        "Show the exact email one subscriber would get for a frozen edition.",
    ),
    "run": (
        "newsletter.cli.run",
        "Run the daily job: collect, freeze the edition, rank, render, send.",
    ),
    "send": (
        "newsletter.cli.send",
        "Send what is pending, and deferred rows now due; never a row already sent.",
    ),
    "serve": (
        "newsletter.cli.serve",
        "Serve subscribe, confirm, unsubscribe, preferences, feedback and the archive.",
    ),
    "status": (
        "newsletter.cli.status",
        "Show the last runs, messages by state, problems with their reasons, sources and subscribers.",
    ),
    "subscribers": (
        "newsletter.cli.subscribers",
        "Add, show, pause, unsubscribe, import, export, list and remove subscribers.",
    ),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module on first use (``lazy``: name ->
    (module, one-line help)); the module registers the command on this group when it is
    imported (``@main.command``). ``--help`` lists the commands from ``lazy`` alone."""

    def __init__(
        self, *args: Any, lazy: Mapping[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(self.lazy[cmd_name][0])
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        for name in self.list_commands(ctx):
            # Not imported yet: a stand-in with the same help, shortened the same way.
            command = self.commands.get(name) or click.Command(name, help=self.lazy[name][1])
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
