"""The exception tree. Each exception carries the object it is about.

    NewsletterError                  base of everything this package raises on purpose
    ├── SettingsError                a bad setting (.setting: its NEWSLETTER_ name)
    │   └── SettingsFileError        the settings file cannot be read (.path)
    ├── SourceError                  a source failed (.source: its name)
    │   └── ParseError               the response could not be parsed (.source)
    ├── StoreError                   the database refused or is unreachable
    │   ├── ConstraintError          a write broke a constraint: a concurrent change won
    │   ├── LockedError              another run holds the lock (.holder)
    │   └── LeaseLostError           a sender's lease expired: it stopped (.worker)
    ├── TemplateError                a template is broken (.path, .line)
    ├── TokenError                   a signed token is invalid (.reason: "invalid" | "expired")
    ├── DeliveryError                sending failed (.recipient)
    ├── InputError                   bad operator or subscriber input (.field, .value)
    └── NotFoundError                a named object does not exist (.what)

The CLI catches ``NewsletterError`` and prints ``str(error)`` as the one-line reason.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """Base class: ``str(error)`` is a one-line message for the operator."""


class SettingsError(NewsletterError):
    """A setting is missing or wrong; ``name`` is the environment variable to fix."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(f"setting {setting}: {message}")


class SettingsFileError(SettingsError):
    """The settings file cannot be read or parsed."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.setting = path
        NewsletterError.__init__(self, f"settings file {path}: {message}")


class SourceError(NewsletterError):
    """A paper source could not be fetched (network, HTTP status, rate limit).

    ``str()`` is "source NAME: REASON"; ``reason`` alone is for a line that names the
    source already (``collect`` keeps it as a source's error, so nothing prints the name
    twice)."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.reason = message
        super().__init__(f"source {source}: {message}")


class ParseError(SourceError):
    """A source answered with something that is not what it documents."""

    pass


class StoreError(NewsletterError):
    """The database failed or refused (connection, lock, constraint)."""

    pass


class ConstraintError(StoreError):
    """A write broke an integrity constraint (unique, foreign key): a concurrent change won."""


class LockedError(StoreError):
    """Another process holds a named lock (for example a run for the same day)."""

    def __init__(self, name: str, holder: str, since: str = "") -> None:
        self.name = name
        self.holder = holder
        self.since = since
        when = f" since {since}" if since else ""
        super().__init__(f"another run holds the {name!r} lock ({holder}{when}); not starting")


class LeaseLostError(StoreError):
    """This sender lost its lease (``WORKER_LEASE``, by the database's clock) and stopped."""

    def __init__(self, worker: str, lease_seconds: float) -> None:
        self.worker = worker
        super().__init__(
            f"sender {worker} lost its lease (paused or stalled longer than"
            f" WORKER_LEASE={lease_seconds:g}s by the database's clock) and stopped; the rows"
            " it held are another sender's or the next run's now, and none is sent twice"
        )


class TemplateError(NewsletterError):
    """A template is missing or broken; carries the file and line when known."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"template {where}: {message}")


class TokenError(NewsletterError):
    """A signed link is ``invalid`` or ``expired`` (never why, to the outside)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"token {reason}")


class DeliveryError(NewsletterError):
    """Nothing could be sent to ``recipient`` (no connection, login refused, bad address)."""

    def __init__(self, recipient: str, message: str) -> None:
        self.recipient = recipient
        super().__init__(f"delivery to {recipient}: {message}")


class InputError(NewsletterError):
    """Bad input from a person (form, CSV, command line): names the ``field``."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {message}")


class NotFoundError(NewsletterError):
    """The thing named (a subscriber, an edition) does not exist."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"not found: {what}")
