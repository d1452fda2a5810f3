"""Settings: built once in the CLI (``load_settings``) and passed down as a value.

Every field is read from ``NEWSLETTER_<NAME>`` in the environment or in ``.env``.
Tests build ``Settings(field=value, ...)`` directly with ``_env_file=None``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsletter import addresses
from newsletter.errors import SettingsError, SettingsFileError
from newsletter.source_list import SourceSpec, parse_sources
from newsletter.status_settings import (
    check_database_url,
    check_sources,
    check_timezone,
    not_utf8,
)

ENV_PREFIX = "NEWSLETTER_"


# SMTP connections per sender process when SMTP_CONCURRENCY is not set: with PIPELINING,
# 2 -> 4 per process gave +20-30 % in bench/send_bench.py, 4 -> 8 within the noise.
CONNECTIONS_PER_PROCESS = 4


def usable_cores() -> int:
    """CPUs this process may run on (``os.sched_getaffinity``, so a container's or
    ``taskset``'s limit counts), at most 64; ``os.cpu_count()`` where affinity is unknown."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        count = os.cpu_count() or 1
    return max(1, min(64, count))


# Every duration and count has finite bounds (no inf, nan or 1e308 that overflows later).
HOUR = 3600.0
DAY = 24 * HOUR


class Settings(BaseSettings):
    """All settings (``NEWSLETTER_*`` environment variables or a settings file), validated once.

    Built only by the CLI and passed down as a value; library code never reads the
    environment. A bad value is a ``SettingsError`` naming the variable. Durations are seconds
    unless a name says hours or days; rates are messages per second or per hour."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
        frozen=True,
        allow_inf_nan=False,
    )

    # Storage
    database_url: str = "sqlite:///subscribers/newsletter.db"

    # Delivery
    delivery: Literal["maildir", "smtp"] = "maildir"
    outbox_dir: Path = Path("outbox")
    smtp_host: str = "localhost"
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_timeout: float = Field(default=30.0, gt=0, le=HOUR)
    # Total over the sender processes; by default CONNECTIONS_PER_PROCESS per process.
    smtp_concurrency: int = Field(default=CONNECTIONS_PER_PROCESS, ge=1, le=64)
    send_rate_per_second: float = Field(default=0.0, ge=0, le=10_000)
    send_rate_per_hour: int = Field(default=0, ge=0, le=36_000_000)
    message_timeout: float = Field(default=120.0, gt=0, le=HOUR)
    unknown_policy: Literal["skip", "resend"] = "skip"
    give_up_after_hours: float = Field(default=72.0, gt=0, le=90 * 24)
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_private_key_path: Path | None = None
    # None: VERP whenever bounces come back to a mailbox we read (IMAP_HOST set); see uses_verp
    verp: bool | None = None
    smtp_ca_file: Path | None = None
    retry_base_delay: float = Field(default=60.0, gt=0, le=DAY)
    retry_max_delay: float = Field(default=6 * 3600.0, gt=0, le=7 * DAY)
    retry_in_run_max_wait: float = Field(default=300.0, ge=0, le=DAY)
    send_batch_size: int = Field(default=50, ge=1, le=5000)
    # One sender per usable core (render and SMTP are CPU-bound Python): bench/send_bench.py.
    send_processes: int = Field(default_factory=usable_cores, ge=1, le=64)
    worker_lease: float = Field(default=120.0, ge=1, le=DAY)
    send_pause_after_refusals: int = Field(default=3, ge=1, le=1000)
    send_failure_stop_share: float = Field(default=0.3, gt=0, le=1)

    # Identity and links
    from_address: str = Field(
        default="Daily Papers <papers@example.org>",
        validation_alias=AliasChoices(f"{ENV_PREFIX}FROM", "from_address"),
    )
    reply_address: str | None = None
    list_name: str = "Daily Papers"
    postal_address: str = ""
    base_url: str = "http://localhost:8000"
    secret_key: SecretStr | None = None
    previous_secret_keys: str = ""
    timezone: str = "UTC"

    # Sources
    sources: str = "hf_daily,arxiv_rss:cs.LG+cs.CL"
    hf_daily_url: str = "https://huggingface.co/api/daily_papers"
    arxiv_rss_url: str = "https://rss.arxiv.org/rss/"
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    http_timeout: float = Field(default=20.0, gt=0, le=HOUR)
    http_retries: int = Field(default=3, ge=0, le=10)
    user_agent: str = "newsletter/0.1 (daily paper digest; +https://github.com/)"
    sample_path: Path | None = None
    hf_max_pages: int = Field(default=5, ge=1, le=50)
    arxiv_request_interval: float = Field(default=3.0, ge=0, le=60)
    arxiv_api_page_size: int = Field(default=200, ge=10, le=2000)
    arxiv_api_max_pages: int = Field(default=5, ge=1, le=50)
    missing_source_policy: Literal["wait", "send"] = "wait"
    missing_source_wait_hours: float = Field(default=8.0, ge=0, le=23)

    # Ranking
    max_per_topic: int = Field(default=5, ge=1, le=50)
    also_today: int = Field(default=5, ge=0, le=50)
    relevance_floor: float = Field(default=0.15, ge=0, lt=1)

    # Rendering and archive
    templates_dir: Path | None = None
    archive_dir: Path = Path("archive")

    # Reply mailbox (IMAP)
    imap_host: str | None = None
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_security: Literal["none", "starttls", "tls"] = "tls"
    imap_folder: str = "INBOX"
    bounce_score_threshold: float = Field(default=5.0, gt=0, le=1000)
    bounce_soft_score: float = Field(default=1.0, ge=0, le=1000)
    bounce_hard_score: float = Field(default=5.0, ge=0, le=1000)
    bounce_reset_days: int = Field(default=30, ge=1, le=3650)
    imap_quarantine_folder: str = "Newsletter-Malformed"

    # Web app (newsletter serve)
    subscribe_limit_per_ip: int = Field(default=10, ge=0, le=1_000_000)
    subscribe_limit_per_address: int = Field(default=3, ge=0, le=1_000_000)

    # Operations
    schedule: Literal["daily", "weekdays", "weekly"] = "daily"
    weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    run_timeout: float = Field(default=3600.0, gt=0, le=7 * DAY)
    lock_ttl: float = Field(default=6 * 3600.0, ge=60, le=7 * DAY)
    alert_email: str | None = None
    operator_email: str | None = None
    alert_failure_threshold: float = Field(default=0.05, ge=0, le=1)
    log_file: Path | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("from_address")
    @classmethod
    def _valid_from(cls, value: str) -> str:
        name, addr = parseaddr(value)
        if "@" not in addr or "\r" in value or "\n" in value:
            raise ValueError(f"not an email address: {value!r}")
        try:
            addresses.normalize(addr)
        except ValueError as exc:
            raise ValueError(f"not an email address: {value!r} ({exc})") from None
        Address(display_name=name, addr_spec=addr)
        return value

    @field_validator("reply_address", "alert_email", "operator_email")
    @classmethod
    def _plain_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            address = addresses.normalize(value)
        except ValueError as exc:
            raise ValueError(
                f"not a plain email address (name@example.org): {value!r} ({exc})"
            ) from None
        local, _, domain = address.rpartition("@")
        if info.field_name == "reply_address" and "+" in local:
            raise ValueError(f"no '+' in {value!r}: replies come to {local}+COMMAND-TOKEN@{domain}")
        return address

    @field_validator("base_url")
    @classmethod
    def _valid_base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("sources")
    @classmethod
    def _valid_sources(cls, value: str) -> str:
        return check_sources(value)

    @model_validator(mode="before")
    @classmethod
    def _connections_for_the_processes(cls, data: Any) -> Any:
        # Unset, SMTP_CONCURRENCY follows SEND_PROCESSES (itself the cores by default); a
        # bad SEND_PROCESSES is left for its own validation to report.
        if not isinstance(data, dict) or "smtp_concurrency" in data:
            return data
        try:
            processes = int(data.get("send_processes") or usable_cores())
        except (TypeError, ValueError):
            return data
        return {**data, "smtp_concurrency": max(1, min(64, CONNECTIONS_PER_PROCESS * processes))}

    @property
    def sender_address(self) -> str:
        """The bare address of ``from_address`` (``Name <a@b>`` -> ``a@b``): the SMTP envelope sender."""
        return parseaddr(self.from_address)[1]

    @property
    def uses_verp(self) -> bool:
        """Whether digests carry a VERP envelope sender (``reply+bounce-TOKEN@domain``).

        ``VERP`` when set; by default on whenever the reply mailbox is read (``IMAP_HOST``):
        the return path is then a plus-address of that mailbox, which must accept them for
        reply commands anyway (``doctor`` checks), so every bounce names its reader."""
        return self.verp if self.verp is not None else bool(self.imap_host)

    @property
    def operator_address(self) -> str | None:
        """Where replies from people that are not commands go: ``OPERATOR_EMAIL``, else
        ``ALERT_EMAIL``; None: they stay unread in the reply mailbox."""
        return self.operator_email or self.alert_email

    @property
    def smtp_port_effective(self) -> int:
        """``smtp_port``, or the standard port for ``smtp_security`` when unset (465 for
        implicit TLS, RFC 8314; 587 for STARTTLS, RFC 6409; 25 otherwise)."""
        if self.smtp_port:
            return self.smtp_port
        return {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]

    @property
    def source_specs(self) -> list[SourceSpec]:
        """The sources to collect from, parsed from ``sources`` (``name[:option]`` entries)."""
        return parse_sources(self.sources)


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Build Settings from the environment and ``.env``; a bad value is a ``SettingsError``,
    an unreadable or non-UTF-8 ``.env`` a ``SettingsFileError``."""
    try:
        return Settings(_env_file=env_file, **overrides)
    except UnicodeDecodeError as exc:
        raise SettingsFileError(str(env_file), not_utf8(exc)) from None
    except OSError as exc:
        raise SettingsFileError(str(env_file), exc.strerror or str(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        name = field if field.startswith(ENV_PREFIX) else ENV_PREFIX + _env_name(field)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(name, message) from None


def _env_name(field: str) -> str:
    return "FROM" if field == "from_address" else field.upper()


def settings_env_names(settings_cls: type[Settings] = Settings) -> Mapping[str, str]:
    """Field name -> environment variable name, for docs and ``.env.example`` checks."""
    return {name: ENV_PREFIX + _env_name(name) for name in settings_cls.model_fields}
