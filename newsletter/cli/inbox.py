"""``newsletter inbox``: apply reply commands and bounces from the IMAP mailbox."""

from __future__ import annotations

import asyncio

import click

from newsletter.cli.base import (
    Context,
    handle_errors,
    main,
    make_signer,
    open_store,
    pass_context,
    utc_now,
)
from newsletter.cli.inbox_classify import classify
from newsletter.errors import SettingsError


@main.group(invoke_without_command=True)
@pass_context
@handle_errors
def inbox(context: Context) -> None:
    """Read the reply mailbox: commands by reply, and bounces (needs IMAP_HOST)."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    from newsletter.inbox import process_inbox

    settings = context.settings
    if not settings.imap_host:
        raise SettingsError("NEWSLETTER_IMAP_HOST", "not set: there is no reply mailbox to read")
    store = open_store(settings)
    try:
        report = asyncio.run(
            process_inbox(store, settings, now=utc_now(), signer=make_signer(settings))
        )
    finally:
        store.close()
    if context.verbosity >= 0 or report.errors or report.mailbox_error:
        click.echo(report.summary())  # -q (cron): silent when all went well
    for error in report.errors:
        click.echo(f"  {error}", err=True)
    if report.mailbox_error:
        raise SystemExit(1)  # what was read is applied; the rest waits for the next run


inbox.add_command(classify)
