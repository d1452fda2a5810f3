"""`newsletter run` reads the reply mailbox first, so a reply takes effect before the send."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from newsletter import pipeline
from newsletter.config import Settings
from newsletter.links import Links
from newsletter.models import Profile
from newsletter.sources.sample import SAMPLE_DATE
from newsletter.store import subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from tests.inbox.dovecot import Dovecot
from tests.inbox.mail import KEY, reply
from tests.support.smtp import SmtpSink

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


def test_an_unsubscribe_reply_stops_todays_email(
    tmp_path: Path, mailbox: Dovecot, smtp_sink: SmtpSink, settings: Settings
) -> None:
    settings = settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'newsletter.db'}",
            "sources": "sample",
            "base_url": "https://papers.example.org",
            "archive_dir": tmp_path / "archive",
        }
    )
    store = Store.open(settings.database_url, now=NOW)
    with store.begin() as conn:
        ada = subscribers.add(conn, "ada@example.org", now=NOW, profile=Profile(("RAG",)))
        subscribers.add(conn, "grace@example.org", now=NOW)
    signer = Signer.from_secrets(KEY)
    to = Links(settings.base_url, signer, "papers@example.org").command_address("unsubscribe", ada)
    mailbox.append(reply(sender="ada@example.org", to=to, subject="unsubscribe", body=""))

    report = asyncio.run(
        pipeline.run_daily(store, settings, signer, date=SAMPLE_DATE, clock=lambda: NOW)
    )

    assert report.outcome == "ok", report.reason
    assert any(line.startswith("inbox: ") for line in report.stages)
    with store.begin() as conn:
        assert subscribers.get(conn, ada.id).status == "unsubscribed"
    digests = [m for m in smtp_sink.messages if "Daily Papers, 26 Nov" in str(m["Subject"])]
    assert [str(m["To"]) for m in digests] == ["grace@example.org"]
    # Ada got the short answer to her command, and no digest.
    assert [str(m["To"]) for m in smtp_sink.messages if m not in digests] == ["ada@example.org"]
