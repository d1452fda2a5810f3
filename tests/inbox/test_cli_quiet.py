"""`newsletter inbox` from cron (issue 14, item 8): with -q it prints nothing when all went
well, and its summary counts in words ("1 message", "1 reply", not "message(s)",
"repl(y/ies)"). Real Dovecot and SMTP sink."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import main
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from tests.inbox.dovecot import Dovecot
from tests.inbox.mail import KEY, reply

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


def test_quiet_inbox_is_silent_and_the_summary_counts_in_words(
    tmp_path: Path, mailbox: Dovecot, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    env = tmp_path / "inbox.env"
    env.write_text(
        "\n".join(
            [
                f"NEWSLETTER_DATABASE_URL={url}",
                f"NEWSLETTER_SECRET_KEY={KEY}",
                "NEWSLETTER_FROM=Daily Papers <papers@example.org>",
                f"NEWSLETTER_BASE_URL={settings.base_url}",
                f"NEWSLETTER_IMAP_HOST={mailbox.host}",
                f"NEWSLETTER_IMAP_PORT={mailbox.port}",
                f"NEWSLETTER_IMAP_USERNAME={mailbox.username}",
                f"NEWSLETTER_IMAP_PASSWORD={mailbox.password}",
                "NEWSLETTER_IMAP_SECURITY=none",
                "NEWSLETTER_DELIVERY=smtp",
                f"NEWSLETTER_SMTP_HOST={settings.smtp_host}",
                f"NEWSLETTER_SMTP_PORT={settings.smtp_port}",
                "NEWSLETTER_SMTP_SECURITY=none",
            ]
        )
        + "\n"
    )
    store = Store.open(url, now=NOW)
    with store.begin() as conn:
        ada = subscribers.add(conn, "ada@example.org", now=NOW)
    store.close()
    links = Links(settings.base_url, Signer.from_secrets(KEY), "papers@example.org")
    to = links.command_address("unsubscribe", ada)
    mailbox.append(reply(sender="ada@example.org", to=to, subject="unsubscribe", body=""))

    loud = CliRunner().invoke(main, ["--env-file", str(env), "inbox"])
    assert loud.exit_code == 0, loud.output
    assert loud.stdout.startswith("1 message: 1 command, 0 confirmations asked, 0 bounces")
    assert loud.stdout.rstrip().endswith("; 1 reply sent")

    quiet = CliRunner().invoke(main, ["--env-file", str(env), "-q", "inbox"])
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
