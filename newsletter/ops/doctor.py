"""Installation checks, as a library: each returns a ``Check`` ("ok", "info", "warn",
"FAIL" or "skip", a detail, and the fix when there is one).

Settings, the database (reachable; pending migrations are information, since every
command applies them on first use), SMTP through the transport ``send`` uses (connect,
EHLO, STARTTLS, AUTH; no message is sent), IMAP through the ``Mailbox`` the inbox reader
uses (certificate verified, folder name quoted), that BASE_URL answers, that the
templates compile, that each source URL answers, and DKIM. Every network check is bounded by SMTP_TIMEOUT or
HTTP_TIMEOUT. ``newsletter doctor`` runs them (``network_checks`` with ``asyncio.run``)
and prints them with the records of ``newsletter.ops.dns``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiosmtplib
import httpx
from pydantic import AliasChoices

from newsletter.config import ENV_PREFIX, Settings, settings_env_names
from newsletter.deliver.smtp import SmtpTransport
from newsletter.errors import NewsletterError, SettingsError, SourceError
from newsletter.inbox.imap import Mailbox
from newsletter.links import Links
from newsletter.ops.dns import DnsRecord, dns_records
from newsletter.sources.arxiv_rss import feed_url
from newsletter.sources.http import client as source_client
from newsletter.store.db import Store
from newsletter.store.sqlite_file import unmade_database
from newsletter.tokens import Signer
from newsletter.words import plural

Status = Literal["ok", "info", "warn", "FAIL", "skip"]
DOCTOR_SIGNER = Signer.from_secrets("doctor: links are never sent", [])


@dataclass(frozen=True, slots=True)
class Check:
    """One check's result: ``name`` (what was checked), ``status``, a one-line ``detail``
    and, when something is wrong, the ``fix`` to apply."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def line(self) -> str:
        """``"FAIL  smtp: 127.0.0.1:25 (none): … -> fix: …"``: how ``doctor`` prints it."""
        text = f"{self.status:<5} {self.name}: {self.detail}"
        return f"{text} -> fix: {self.fix}" if self.fix else text


def check_settings(settings: Settings) -> list[Check]:
    """Settings that load but will not work for readers: placeholders, a local BASE_URL,
    no ALERT_EMAIL, a reply address too long for its tokens."""
    found: list[Check] = [Check("settings", "ok", "loaded")]
    domain = settings.sender_address.rpartition("@")[2]
    if domain in ("example.org", "example.com"):
        found.append(
            Check(
                "from", "warn", f"{settings.sender_address} is a placeholder", "set NEWSLETTER_FROM"
            )
        )
    if settings.base_url.startswith(("http://localhost", "http://127.")):
        found.append(
            Check(
                "base_url",
                "warn",
                f"{settings.base_url} is not reachable by readers",
                "set NEWSLETTER_BASE_URL to the public https:// address of `newsletter serve`",
            )
        )
    if not settings.alert_email:
        found.append(
            Check("alerts", "warn", "no one is told when a run fails", "set NEWSLETTER_ALERT_EMAIL")
        )
    try:
        Links.for_settings(settings, DOCTOR_SIGNER)
    except SettingsError as exc:
        fix = "use a mailbox with a shorter name before the @"
        found.append(Check("reply_address", "FAIL", str(exc), fix))
    return found


# Names read from the environment that are not settings (tests/support/needs.py).
NOT_SETTINGS = frozenset({"NEWSLETTER_FIXTURES"})


def check_unknown_names(names: Iterable[str]) -> Check | None:
    """A warning naming each ``NEWSLETTER_*`` name given (in ``.env`` or the environment)
    that is no setting, with the closest real name: pydantic-settings ignores unknown
    names, so a typo (``NEWSLETTER_SMTP_HOTS``) would leave the default in place without
    a word. None when every name is known."""
    env_names = settings_env_names()
    # What pydantic-settings reads for each field: the documented name, the prefixed field
    # name, and each alias with and without the prefix (from_address: NEWSLETTER_FROM,
    # NEWSLETTER_FROM_ADDRESS), each meaning the documented name.
    spelled = {env: env for env in env_names.values()}
    for field, info in Settings.model_fields.items():
        spelled[ENV_PREFIX + field.upper()] = env_names[field]
        if isinstance(info.validation_alias, AliasChoices):
            for choice in info.validation_alias.choices:
                if isinstance(choice, str):
                    spelled[choice.upper()] = env_names[field]
                    spelled[ENV_PREFIX + choice.upper().removeprefix(ENV_PREFIX)] = env_names[field]
    known = set(spelled) | NOT_SETTINGS
    unknown = sorted({n for n in names if n.upper().startswith(ENV_PREFIX)} - known)
    unknown = [n for n in unknown if n.upper() not in known]
    if not unknown:
        return None
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name.upper(), sorted(spelled), n=1, cutoff=0.6)
        hints.append(f"{name} (did you mean {spelled[close[0]]}?)" if close else name)
    return Check(
        "settings",
        "warn",
        f"not a setting, ignored: {', '.join(hints)}",
        "rename or remove them (every setting is in .env.example)",
    )


def check_database(settings: Settings, *, now: dt.datetime) -> Check:
    """The database answers; pending migrations are "info" (any command applies them on
    first use, issue 14), never a failure. Nothing is written, and no SQLite file is
    created: a missing one is "info" too (the first command that writes creates it)."""
    if settings.database_url.startswith("sqlite:///"):
        path = Path(settings.database_url.removeprefix("sqlite:///").split("?", 1)[0])
        if str(path) != ":memory:" and not path.exists():
            return Check(
                "database",
                "info",
                f"no database at {path.resolve()} yet (not created); `newsletter run` or"
                " `newsletter subscribers add` creates it",
            )
        why = unmade_database(path) if str(path) != ":memory:" else None
        if why is not None:  # every command refuses it; so does doctor
            return Check(
                "database",
                "FAIL",
                f"{path.resolve()} {why}",
                "restore it from a backup, or `newsletter db upgrade` to create an empty"
                " schema in it deliberately",
            )
    try:
        store = Store.open(settings.database_url, now=now, migrate=False)
        try:
            pending = store.pending_migrations()
        finally:
            store.close()
    except NewsletterError as exc:
        damaged = any(m in str(exc) for m in ("malformed", "not a database"))
        fix = (
            "the SQLite file is damaged: stop cron and `serve`, restore the last backup"
            if damaged
            else "check NEWSLETTER_DATABASE_URL and that the server runs"
        )
        return Check("database", "FAIL", str(exc), fix)
    if pending:
        return Check(
            "database",
            "info",
            f"reachable, {plural(len(pending), 'migration')} pending ({', '.join(pending)});"
            " the next command applies them, or `newsletter db upgrade` now",
        )
    return Check("database", "ok", "reachable, schema up to date")


async def check_smtp(settings: Settings) -> Check:
    """Connect, EHLO, STARTTLS and AUTH exactly as ``send`` does (an ``SmtpTransport``'s
    client, certificate verified against SMTP_CA_FILE or the system's); no message is sent.
    A server that offers AUTH while no username is set is a warning."""
    if settings.delivery != "smtp":
        return Check("smtp", "skip", f"DELIVERY=maildir writes to {settings.outbox_dir}/")
    where = f"{settings.smtp_host}:{settings.smtp_port_effective} ({settings.smtp_security})"
    try:
        transport = SmtpTransport(settings)
    except SettingsError as exc:
        return Check("smtp", "FAIL", str(exc), "point NEWSLETTER_SMTP_CA_FILE at a PEM file")
    client = transport._new_client()  # the very client a send would open
    hosts = "check NEWSLETTER_SMTP_HOST, SMTP_PORT and SMTP_SECURITY"
    steps = ["EHLO", *(["STARTTLS"] if settings.smtp_security == "starttls" else [])]
    try:
        async with asyncio.timeout(settings.smtp_timeout * 2):
            await client.connect()  # with a username, this logs in too
            try:
                if client.last_ehlo_response is None:
                    await client.ehlo()
                if settings.smtp_username:
                    steps.append(f"login as {settings.smtp_username} accepted")
                elif client.supports_extension("auth"):
                    return Check(
                        "smtp",
                        "warn",
                        f"{where}: the server offers AUTH but no username is set",
                        "set NEWSLETTER_SMTP_USERNAME and SMTP_PASSWORD if it requires login",
                    )
            finally:
                await _quit(client)
    except TimeoutError:
        return Check("smtp", "FAIL", f"{where}: no answer within {settings.smtp_timeout:g}s", hosts)
    except aiosmtplib.SMTPAuthenticationError as exc:
        return Check(
            "smtp",
            "FAIL",
            f"{where}: login refused ({exc.code} {exc.message})",
            "check NEWSLETTER_SMTP_USERNAME and SMTP_PASSWORD",
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Check("smtp", "FAIL", f"{where}: {_first_line(exc)}", hosts)
    return Check("smtp", "ok", f"{where}: {', '.join(steps)}; no message sent")


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def _open_mailbox(settings: Settings) -> str:
    with Mailbox(settings):
        pass
    port = settings.imap_port or (993 if settings.imap_security == "tls" else 143)
    return (
        f"{settings.imap_host}:{port} ({settings.imap_security}): login ok,"
        f" {settings.imap_folder} readable"
    )


async def check_imap(settings: Settings) -> Check:
    """Log in and open IMAP_FOLDER through the inbox reader's own ``Mailbox`` (certificate
    verified, folder name quoted, RFC 3501 section 4.3), in a thread; skipped when
    IMAP_HOST is not set."""
    if not settings.imap_host:
        return Check("imap", "skip", "IMAP_HOST not set (replies and bounces are not read)")
    try:
        async with asyncio.timeout(settings.smtp_timeout * 2):
            detail = await asyncio.to_thread(_open_mailbox, settings)
    except TimeoutError:
        detail = f"{settings.imap_host}: no answer within {settings.smtp_timeout:g}s"
    except SourceError as exc:
        detail = str(exc).removeprefix(f"source {exc.source}: ")
    else:
        return Check("imap", "ok", detail)
    return Check(
        "imap",
        "FAIL",
        detail,
        "check NEWSLETTER_IMAP_HOST, IMAP_PORT, IMAP_SECURITY, IMAP_USERNAME, IMAP_PASSWORD,"
        " IMAP_FOLDER",
    )


async def check_base_url(settings: Settings) -> Check:
    """``GET BASE_URL/health`` answers below 400 (redirects followed, HTTP_TIMEOUT)."""
    url = settings.base_url + "/health"
    fix = "start `newsletter serve` behind your web server, or correct NEWSLETTER_BASE_URL"
    try:
        async with httpx.AsyncClient(
            timeout=settings.http_timeout, follow_redirects=True
        ) as client:
            response = await client.get(url, headers={"User-Agent": settings.user_agent})
    except httpx.HTTPError as exc:
        return Check("base_url", "FAIL", f"{url}: {_first_line(exc) or type(exc).__name__}", fix)
    if response.status_code >= 400:
        return Check("base_url", "FAIL", f"{url}: HTTP {response.status_code}", fix)
    return Check("base_url", "ok", f"{url}: HTTP {response.status_code}")


def source_urls(settings: Settings) -> dict[str, str]:
    """``{source spec: URL}`` for every configured source that uses the network (``sample``
    does not), each URL once: the address its ``fetch`` starts from."""
    found: dict[str, str] = {}
    for spec in settings.source_specs:
        if spec.name == "hf_daily":
            url = settings.hf_daily_url
        elif spec.name == "arxiv_rss":
            url = feed_url(settings, spec.argument)
        elif spec.name == "arxiv_api":
            url = settings.arxiv_api_url
        else:
            continue
        if url not in found.values():
            found[repr(spec)] = url
    return found


async def check_sources(settings: Settings) -> list[Check]:
    """Each source URL asked once (one ``GET``, no retries) with the client and timeouts
    a run uses (``newsletter.sources.http.client``: HTTP_TIMEOUT, USER_AGENT, redirects)."""
    urls = source_urls(settings)
    if not urls:
        return [Check("sources", "skip", "no source uses the network")]
    fix = (
        "check NEWSLETTER_SOURCES and the source URL settings; a source that is down"
        " for a while is retried by each run (MISSING_SOURCE_POLICY)"
    )
    found: list[Check] = []
    async with source_client(settings) as client:
        for name, url in urls.items():
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                found.append(Check(f"source {name}", "FAIL", f"{url}: {_first_line(exc)}", fix))
                continue
            status: Status = "ok" if response.status_code < 400 else "FAIL"
            found.append(
                Check(
                    f"source {name}",
                    status,
                    f"{url}: HTTP {response.status_code}",
                    "" if status == "ok" else fix,
                )
            )
    return found


def check_templates(settings: Settings) -> Check:
    """The email templates (built-in or TEMPLATES_DIR) compile."""
    from newsletter.render import Renderer  # MJML and Jinja: heavy, only when checked

    try:
        Renderer(settings, Links.for_settings(settings, DOCTOR_SIGNER))
    except SettingsError as exc:
        return Check("templates", "skip", f"not compiled: {exc}")
    except NewsletterError as exc:
        return Check("templates", "FAIL", str(exc), "correct the template named above")
    where = settings.templates_dir or "built-in"
    return Check("templates", "ok", f"compiled ({where})")


def check_dkim(settings: Settings) -> tuple[list[Check], list[DnsRecord]]:
    """The DNS records to publish, and a check when DKIM is off or its key unusable."""
    found: list[Check] = []
    problems: list[str] = []
    records = dns_records(settings, problems)  # SPF and DMARC even when the key is unusable
    for problem in problems:
        found.append(Check("dkim", "FAIL", problem, "point it at the PEM private key"))
    if settings.dkim_selector is None:
        found.append(
            Check(
                "dkim",
                "warn",
                "messages are not DKIM-signed",
                "`openssl genrsa -out dkim.pem 2048`, then set NEWSLETTER_DKIM_SELECTOR,"
                " DKIM_DOMAIN and DKIM_PRIVATE_KEY_PATH",
            )
        )
    return found, records


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def network_checks(settings: Settings) -> list[Check]:
    """SMTP, IMAP, BASE_URL and the sources, in that order (one after another)."""
    found = [await check_smtp(settings), await check_imap(settings)]
    found.append(await check_base_url(settings))
    return found + await check_sources(settings)
