"""``newsletter doctor``: check the installation, one line per check, "ok" or the fix.

The checks live in ``newsletter.ops.doctor``; this command runs them, prints them and the
DNS records to publish (SPF, DKIM, DMARC). Exit status 1 when any check failed; warnings
and information keep it 0.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click

from newsletter.cli.base import Context, handle_errors, main, pass_context, utc_now
from newsletter.config import Settings
from newsletter.errors import NewsletterError
from newsletter.ops.dns import DnsRecord
from newsletter.ops.doctor import (
    Check,
    check_database,
    check_dkim,
    check_settings,
    check_templates,
    check_unknown_names,
    network_checks,
)
from newsletter.ops.plus_probe import check_plus_address
from newsletter.words import plural


def run_checks(
    settings: Settings, *, probe_plus: bool = False
) -> tuple[list[Check], list[DnsRecord]]:
    """Every check in the order printed, and the DNS records to publish; ``probe_plus``
    sends one probe to a plus-address of the reply mailbox (``ops.plus_probe``)."""
    found = check_settings(settings)
    found.append(check_database(settings, now=utc_now()))
    found += asyncio.run(network_checks(settings))
    if probe_plus:
        found.append(asyncio.run(check_plus_address(settings, now=utc_now())))
    elif settings.imap_host:
        found.append(
            Check(
                "plus-address",
                "info",
                "not probed: `newsletter doctor --probe-plus` mails one probe to"
                " local+doctor-…@ and waits for it (VERP and reply commands need plus-addresses)",
            )
        )
    found.append(check_templates(settings))
    dkim, records = check_dkim(settings)
    return found + dkim, records


def _names_given(ctx: Context) -> list[str]:
    """Every name set in the settings file (when there is one) and the environment."""
    from dotenv import dotenv_values

    names = list(os.environ)
    if ctx.env_file and Path(ctx.env_file).is_file():
        names += list(dotenv_values(ctx.env_file))
    return names


@main.command("doctor")
@click.option(
    "--probe-plus",
    is_flag=True,
    help="Mail one probe to a plus-address of the reply mailbox and wait for it in IMAP.",
)
@pass_context
@handle_errors
def doctor_command(ctx: Context, probe_plus: bool) -> None:
    """Check settings, database, SMTP, IMAP, BASE_URL, sources and templates; print DNS records."""
    if ctx.unconfigured():
        click.echo(f"warning: {ctx.no_settings_line()}", err=True)
    try:
        settings = ctx.settings
    except NewsletterError as exc:
        click.echo(Check("settings", "FAIL", str(exc), "correct it in .env").line)
        raise SystemExit(1) from None
    checks, records = run_checks(settings, probe_plus=probe_plus)
    unknown = check_unknown_names(_names_given(ctx))
    if unknown is not None:
        checks.insert(1, unknown)
    for check in checks:
        click.echo(check.line)
    if records:
        click.echo("")
        click.echo("DNS records to publish:")
        for record in records:
            click.echo(f"  {record}")
    failed = [c for c in checks if c.status == "FAIL"]
    if failed:
        click.echo(f"\n{plural(len(failed), 'check')} failed.")
        raise SystemExit(1)
    click.echo("\nAll checks passed.")
