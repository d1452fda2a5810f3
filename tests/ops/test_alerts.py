"""Alerts: when one is due, and the email that reaches a real SMTP sink."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import logging
from dataclasses import dataclass, field
from email.policy import default
from typing import Any

import pytest

from newsletter.config import Settings
from newsletter.outbox.alerts import decide, maybe_alert
from tests.support.ports import free_port
from tests.support.smtp import SmtpSink

THURSDAY = dt.date(2026, 11, 26)
SATURDAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@dataclass
class Report:
    """The fields of ``pipeline.RunReport`` that alerts read."""

    date: dt.date
    outcome: str = "ok"
    reason: str = ""
    stages: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    stopped: str = ""


def ledger(**states: int) -> dict[str, int]:
    counts = dict.fromkeys(("pending", "sending", "sent", "deferred", "failed", "unknown"), 0)
    counts.update(states)
    return counts


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {"sources": "hf_daily,arxiv_rss:cs.LG", "alert_email": None}
    return Settings(_env_file=None, **(base | values))


def test_good_run_needs_no_alert() -> None:
    report = Report(THURSDAY, counts=ledger(sent=100, failed=2))
    assert decide(report, settings(alert_failure_threshold=0.05)) is None


def test_failed_run_alerts_with_its_reason() -> None:
    report = Report(THURSDAY, "failed", "every source failed: hf_daily: HTTP 503", ["collect: 0"])
    alert = decide(report, settings())
    assert alert is not None
    assert alert.reason == "every source failed: hf_daily: HTTP 503"
    assert "newsletter run --date 2026-11-26" in alert.next_step
    assert alert.details == ("collect: 0",)


def test_dry_run_never_alerts() -> None:
    assert decide(Report(THURSDAY, "dry-run", counts={"rendered": 0}), settings()) is None


def test_nothing_announced_alerts_only_on_a_due_day() -> None:
    reason = "no papers announced"
    assert decide(Report(SATURDAY, "nothing", reason), settings()) is None
    alert = decide(Report(THURSDAY, "nothing", reason), settings())
    assert alert is not None
    assert alert.problem == "no digest was sent on a day one was due"
    assert "not a holiday" in alert.next_step  # holidays have their own outcome now
    # Weekly schedule: Thursday is not the weekly day (mon), so silence is expected.
    assert decide(Report(THURSDAY, "nothing", reason), settings(schedule="weekly")) is None


def test_a_holiday_and_a_run_waiting_for_a_source_alert_nobody() -> None:
    assert (
        decide(Report(THURSDAY, "holiday", "every arXiv source answered empty"), settings()) is None
    )
    assert decide(Report(THURSDAY, "waiting", "waiting for hf_daily"), settings()) is None


def test_a_digest_sent_without_a_source_alerts() -> None:
    missing = ("hf_daily: source hf_daily: HTTP 503 after 4 attempts",)
    for outcome in ("partial", "incomplete"):
        report = Report(
            THURSDAY, outcome, "sent without hf_daily", counts=ledger(sent=9), missing=missing
        )
        alert = decide(report, settings())
        assert alert is not None
        assert alert.problem == "the digest went out without hf_daily"
        assert alert.reason == "sent without hf_daily"


def test_everything_deferred_is_titled_a_retry_delay() -> None:
    report = Report(THURSDAY, "incomplete", "40 messages still waiting", counts=ledger(deferred=40))
    alert = decide(report, settings())
    assert alert is not None
    assert alert.kind == "deferred"
    assert alert.problem == "none of 40 messages delivered yet: 40 deferred for a retry"
    assert "no digest was sent" not in alert.subject
    assert "`newsletter send --retry --now`" in alert.next_step


@pytest.mark.parametrize(("failed", "expected"), [(5, False), (6, True), (50, True)])
def test_failure_threshold(failed: int, expected: bool) -> None:
    report = Report(THURSDAY, counts=ledger(sent=100 - failed, failed=failed))
    alert = decide(report, settings(alert_failure_threshold=0.05))
    assert (alert is not None) is expected
    if alert is not None:
        assert f"{failed} of 100 messages failed" in alert.reason


def smtp_settings(sink_host: str, port: int, **values: Any) -> Settings:
    return settings(
        delivery="smtp",
        smtp_host=sink_host,
        smtp_port=port,
        smtp_security="none",
        smtp_timeout=5,
        alert_email="ops@example.org",
        **values,
    )


def test_alert_email_reaches_the_smtp_sink(smtp_sink: SmtpSink) -> None:
    config = smtp_settings(smtp_sink.host, smtp_sink.port)
    report = Report(
        THURSDAY,
        "failed",
        "source hf_daily: HTTP 503\r\nBcc: victim@example.com",
        ["collect: 0 papers (hf_daily FAILED) (1.2s)"],
    )
    alert = asyncio.run(maybe_alert(report, config, now=NOW))
    assert alert is not None
    assert len(smtp_sink.envelopes) == 1
    mail_from, rcpts, data = smtp_sink.envelopes[0]
    assert rcpts == ["ops@example.org"]
    assert mail_from == "papers@example.org"
    parsed = email.message_from_bytes(data, policy=default)
    assert parsed["To"] == "ops@example.org"
    assert parsed["Bcc"] is None  # the CR/LF in the reason did not become a header
    assert parsed["Subject"] == (
        "[newsletter] 2026-11-26: the run failed: source hf_daily: HTTP 503 Bcc: victim@example.com"
    )
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Message-ID"] and parsed["Date"]
    body = parsed.get_content()
    assert "Why: source hf_daily: HTTP 503" in body
    assert "Next step: fix the cause, then `newsletter run --date 2026-11-26`" in body
    assert "collect: 0 papers (hf_daily FAILED) (1.2s)" in body


def test_no_alert_email_when_run_is_fine(smtp_sink: SmtpSink) -> None:
    config = smtp_settings(smtp_sink.host, smtp_sink.port)
    assert (
        asyncio.run(maybe_alert(Report(THURSDAY, counts=ledger(sent=3)), config, now=NOW)) is None
    )
    assert smtp_sink.envelopes == []


def test_unreachable_mail_server_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    config = smtp_settings("127.0.0.1", free_port())
    with caplog.at_level(logging.WARNING, logger="newsletter.outbox.alerts"):
        alert = asyncio.run(
            maybe_alert(Report(THURSDAY, "failed", "database is locked"), config, now=NOW)
        )
    assert alert is not None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith("alert to ops@example.org not sent:")


def test_without_alert_email_the_alert_is_only_logged(
    smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    config = smtp_settings(smtp_sink.host, smtp_sink.port).model_copy(update={"alert_email": None})
    with caplog.at_level(logging.WARNING, logger="newsletter.outbox.alerts"):
        alert = asyncio.run(maybe_alert(Report(THURSDAY, "failed", "boom"), config, now=NOW))
    assert alert is not None
    assert smtp_sink.envelopes == []
    assert any("ALERT 2026-11-26: boom" in r.getMessage() for r in caplog.records)


def test_alert_rendered_by_the_email_templates(smtp_sink: SmtpSink) -> None:
    from newsletter.links import Links
    from newsletter.render import Renderer
    from newsletter.tokens import Signer

    config = smtp_settings(smtp_sink.host, smtp_sink.port)
    renderer = Renderer(config, Links(config.base_url, Signer.from_secrets("k", []), "p@e.org"))
    report = Report(THURSDAY, "failed", "<script>x</script> every source failed\r\nX-Evil: 1")
    assert asyncio.run(maybe_alert(report, config, now=NOW, renderer=renderer)) is not None
    [(_, rcpts, data)] = smtp_sink.envelopes
    assert rcpts == ["ops@example.org"]
    parsed = email.message_from_bytes(data, policy=default)
    assert parsed["X-Evil"] is None
    assert "every source failed" in parsed["Subject"]
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;" in html
    assert "Next step: fix the cause, then `newsletter run --date 2026-11-26`" in text


def test_one_failed_message_of_one_is_counted_in_english() -> None:
    report = Report(THURSDAY, counts=ledger(sent=9, failed=1))
    alert = decide(report, settings(alert_failure_threshold=0.05))
    assert alert is not None
    assert alert.problem == "1 message failed"
    assert "1 of 10 messages failed (10%)" in alert.reason
