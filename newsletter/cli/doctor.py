"""``newsletter doctor``: check the installation, one line per check, "ok" or the fix.

Checks settings, the database (reachable, migrated), SMTP (connect, EHLO, STARTTLS,
AUTH; no message is sent), IMAP login when configured, that BASE_URL answers, that
the templates compile, and prints the DNS records to publish (SPF, DKIM, DMARC).
Every network check is bounded by SMTP_TIMEOUT or HTTP_TIMEOUT. Exit status 1 when
any check failed; warnings alone keep it 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
from dataclasses import dataclass
from typing import Literal

import aiosmtplib
import click
import httpx

from newsletter.cli.base import Context, handle_errors, main, pass_context, utc_now
from newsletter.config import Settings
from newsletter.deliver.smtp import tls_context
from newsletter.errors import NewsletterError, SettingsError
from newsletter.links import Links
from newsletter.ops.dns import DnsRecord, dns_records
from newsletter.store.db import Store
from newsletter.tokens import Signer

Status = Literal["ok", "warn", "FAIL", "skip"]
DOCTOR_SIGNER = Signer.from_secrets("doctor: links are never sent", [])


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def line(self) -> str:
        text = f"{self.status:<5} {self.name}: {self.detail}"
        return f"{text} -> fix: {self.fix}" if self.fix else text


def check_settings(settings: Settings) -> list[Check]:
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


def check_database(settings: Settings) -> Check:
    try:
        store = Store.open(settings.database_url, now=utc_now(), migrate=False)
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
            "FAIL",
            f"reachable, {len(pending)} migration(s) pending ({', '.join(pending)})",
            "run `newsletter db upgrade` (any command also migrates on first use)",
        )
    return Check("database", "ok", "reachable, schema up to date")


async def check_smtp(settings: Settings) -> Check:
    if settings.delivery != "smtp":
        return Check("smtp", "skip", f"DELIVERY=maildir writes to {settings.outbox_dir}/")
    where = f"{settings.smtp_host}:{settings.smtp_port_effective} ({settings.smtp_security})"
    try:
        context = tls_context(settings)
    except SettingsError as exc:
        return Check("smtp", "FAIL", str(exc), "point NEWSLETTER_SMTP_CA_FILE at a PEM file")
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port_effective,
        timeout=settings.smtp_timeout,
        use_tls=settings.smtp_security == "tls",
        start_tls=settings.smtp_security == "starttls",
        tls_context=context,
    )
    hosts = "check NEWSLETTER_SMTP_HOST, SMTP_PORT and SMTP_SECURITY"
    steps = ["EHLO", *(["STARTTLS"] if settings.smtp_security == "starttls" else [])]
    try:
        async with asyncio.timeout(settings.smtp_timeout * 2):
            await client.connect()
            try:
                await client.ehlo()
                if settings.smtp_username:
                    password = (
                        settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                    )
                    await client.login(settings.smtp_username, password)
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


def _imap_login(settings: Settings) -> str:
    host, timeout = settings.imap_host or "", settings.smtp_timeout
    port = settings.imap_port or (993 if settings.imap_security == "tls" else 143)
    imap: imaplib.IMAP4
    if settings.imap_security == "tls":
        imap = imaplib.IMAP4_SSL(host, port, timeout=timeout)
    else:
        imap = imaplib.IMAP4(host, port, timeout=timeout)
        if settings.imap_security == "starttls":
            imap.starttls()
    try:
        password = settings.imap_password.get_secret_value() if settings.imap_password else ""
        imap.login(settings.imap_username or "", password)
        status, _ = imap.select(settings.imap_folder, readonly=True)
        if status != "OK":
            raise imaplib.IMAP4.error(f"folder {settings.imap_folder!r} not found")
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            imap.logout()
    return f"{host}:{port} ({settings.imap_security}): login ok, {settings.imap_folder} readable"


async def check_imap(settings: Settings) -> Check:
    if not settings.imap_host:
        return Check("imap", "skip", "IMAP_HOST not set (replies and bounces are not read)")
    try:
        async with asyncio.timeout(settings.smtp_timeout * 2):
            detail = await asyncio.to_thread(_imap_login, settings)
    except TimeoutError:
        detail = f"no answer within {settings.smtp_timeout:g}s"
    except (imaplib.IMAP4.error, OSError) as exc:
        detail = _first_line(exc)
    else:
        return Check("imap", "ok", detail)
    return Check(
        "imap",
        "FAIL",
        f"{settings.imap_host}: {detail}",
        "check NEWSLETTER_IMAP_HOST, IMAP_PORT, IMAP_SECURITY, IMAP_USERNAME, IMAP_PASSWORD",
    )


async def check_base_url(settings: Settings) -> Check:
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


def check_templates(settings: Settings) -> Check:
    from newsletter.render import Renderer

    try:
        Renderer(settings, Links.for_settings(settings, DOCTOR_SIGNER))
    except SettingsError as exc:
        return Check("templates", "skip", f"not compiled: {exc}")
    except NewsletterError as exc:
        return Check("templates", "FAIL", str(exc), "correct the template named above")
    where = settings.templates_dir or "built-in"
    return Check("templates", "ok", f"compiled ({where})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def network_checks(settings: Settings) -> list[Check]:
    return [await check_smtp(settings), await check_imap(settings), await check_base_url(settings)]


def run_checks(settings: Settings) -> list[Check]:
    found = check_settings(settings)
    found.append(check_database(settings))
    found += asyncio.run(network_checks(settings))
    found.append(check_templates(settings))
    return found


@main.command("doctor")
@pass_context
@handle_errors
def doctor_command(ctx: Context) -> None:
    """Check settings, database, SMTP, IMAP, BASE_URL and templates; print DNS records."""
    try:
        settings = ctx.settings
    except NewsletterError as exc:
        click.echo(Check("settings", "FAIL", str(exc), "correct it in .env").line)
        raise SystemExit(1) from None
    checks = run_checks(settings)
    records: list[DnsRecord] = []
    try:
        records = dns_records(settings)
    except NewsletterError as exc:
        checks.append(Check("dkim", "FAIL", str(exc), "point it at the PEM private key"))
    if settings.dkim_selector is None:
        checks.append(
            Check(
                "dkim",
                "warn",
                "messages are not DKIM-signed",
                "`openssl genrsa -out dkim.pem 2048`, then set NEWSLETTER_DKIM_SELECTOR,"
                " DKIM_DOMAIN and DKIM_PRIVATE_KEY_PATH",
            )
        )
    for check in checks:
        click.echo(check.line)
    if records:
        click.echo("")
        click.echo("DNS records to publish:")
        for record in records:
            click.echo(f"  {record}")
    failed = [c for c in checks if c.status == "FAIL"]
    if failed:
        click.echo(f"\n{len(failed)} check(s) failed.")
        raise SystemExit(1)
    click.echo("\nAll checks passed.")
