"""Operator alerts: decide whether a run needs a human, and tell ALERT_EMAIL why.

``decide`` (pure) looks at what a run did; an alert is due when

- the run failed (every source down, a broken template, the database ...),
- the digest went out without a source (``MISSING_SOURCE_POLICY``),
- it sent nothing on a day a digest was due (``schedule.should_send``) and arXiv did
  announce (a holiday, every arXiv source answered and empty, alerts nobody),
- sending stopped part-way (``RunSummary.stopped``: a refused relay, identical refusals
  of the message, too many failures), or
- more than ``ALERT_FAILURE_THRESHOLD`` of the edition's recipients failed.

A run that is waiting for a source (``MISSING_SOURCE_POLICY=wait``, before the deadline)
alerts nobody yet: the next run tries again. Each alert has a ``kind``; given an
``AlertLog``, at most one email goes out per (edition date, kind), however often the run
is repeated.

``build_alert`` turns an ``Alert`` into a plain-text ``Message`` (or asks a renderer for
its "alert" notice), and ``send_alert`` sends it through the configured transport,
bounded by a timeout. Sending an alert never raises: a broken mail server must not
hide the run's own exit status, so a failed alert is logged instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any, Protocol

from newsletter.config import Settings
from newsletter.deliver import open_transport
from newsletter.errors import NewsletterError
from newsletter.models import Message, Subscriber
from newsletter.render.mime import address, build_message, sender_address
from newsletter.schedule import should_send
from newsletter.text import one_line
from newsletter.words import plural

log = logging.getLogger(__name__)
SUBJECT_LIMIT = 140


class RunSummary(Protocol):
    """What ``pipeline.RunReport`` offers: the fields an alert reads."""

    @property
    def date(self) -> dt.date:
        """The day the run was for."""
        ...

    @property
    def outcome(self) -> str:
        """How the run ended (``done``, ``failed``, ``dry run`` …)."""
        ...

    @property
    def reason(self) -> str:
        """Why it ended that way, one line (empty when fine)."""
        ...

    @property
    def stages(self) -> Sequence[str]:
        """The summary line of each stage, in order."""
        ...

    @property
    def counts(self) -> Mapping[str, int]:
        """The edition's ledger rows by state."""
        ...

    @property
    def missing(self) -> Sequence[str]:
        """The sources that had no papers when the edition froze."""
        ...

    @property
    def stopped(self) -> str:
        """Why sending stopped early (``deliver.guard``), or empty."""
        ...


class NoticeRenderer(Protocol):
    """What renders an alert with the email templates (``render.Renderer`` does)."""

    def notice(
        self,
        kind: str,
        to: str,
        *,
        subscriber: Subscriber | None,
        context: dict[str, Any],
        now: dt.datetime,
    ) -> Message:
        """One notice email of ``kind`` to ``to``; see ``Renderer.notice``."""
        ...


@dataclass(frozen=True, slots=True)
class Alert:
    """``kind``: failed | error | missing | nothing | nothing-sent | deferred | stopped |
    failures."""

    date: dt.date
    problem: str
    reason: str
    next_step: str
    details: tuple[str, ...] = ()
    kind: str = "failed"

    @property
    def subject(self) -> str:
        """The alert's subject, one line of at most ``SUBJECT_LIMIT`` characters."""
        return one_line(f"[newsletter] {self.date}: {self.problem}: {self.reason}", SUBJECT_LIMIT)

    @property
    def text(self) -> str:
        """The alert's plain-text body: what happened, why, and the next step."""
        lines = [
            f"The daily run for {self.date} needs attention: {self.problem}.",
            "",
            f"Why: {self.reason}",
            "",
            f"Next step: {self.next_step}",
        ]
        if self.details:
            lines += ["", "What the run did:", *(f"  {line}" for line in self.details)]
        lines += ["", "See `newsletter status` for the last runs, the ledger and the sources."]
        return "\n".join(lines) + "\n"


class AlertLog(Protocol):
    """Remembers which alerts were emailed (``store.alerts`` behind it in the CLI)."""

    def already_sent(self, alert: Alert) -> bool:
        """Whether this alert's (date, kind) was already emailed."""
        ...

    def remember(self, alert: Alert) -> None:
        """Note that this alert's (date, kind) was emailed."""
        ...


def decide(report: RunSummary, settings: Settings, left_out: Sequence[str] = ()) -> Alert | None:
    """The alert this run calls for, or None when all is well (or it was a dry run).

    ``left_out``: the addresses of the failed messages' readers that are no longer sent
    to (bounced, unsubscribed); the advice then makes them active first, since
    ``send --resend-failed`` leaves their rows alone."""
    date, details = report.date, tuple(report.stages)
    retry = f"fix the cause, then `newsletter run --date {date}` (nothing is sent twice)"
    resend = f"`newsletter send --resend-failed --date {date}` sends them again"
    if left_out:
        every = len(left_out) >= report.counts.get("failed", 0)
        who = "every failed reader was" if every else f"{plural(len(left_out), 'reader')} were"
        resend = (
            f"{who} suppressed ({', '.join(left_out[:3])}{' ...' if len(left_out) > 3 else ''}),"
            " so first, once a mailbox works again,"
            f" `newsletter subscribers reactivate {shlex.quote(left_out[0])}` (each one);"
            f" then `newsletter send --resend-failed --date {date}` sends them again"
        )
    if report.outcome == "failed":
        if report.stopped:
            retry = "fix what the reason names, then `newsletter send --retry --now`"
        elif report.counts.get("failed"):
            retry = f"read each failure's SMTP reply in `newsletter status`; after a fix, {resend}"
        return Alert(date, "the run failed", report.reason or "unknown", retry, details)
    if report.outcome in ("dry-run", "holiday", "waiting"):
        return None
    if report.stopped:
        return Alert(
            date,
            "sending stopped part-way",
            report.stopped,
            "fix what the reason names (the relay, its limits, the message), then"
            " `newsletter send --retry --now` sends the rest; nothing is sent twice",
            details,
            kind="stopped",
        )
    if report.missing:
        names = " and ".join(line.split(": ", 1)[0] for line in report.missing)
        return Alert(
            date,
            f"the digest went out without {names}",
            report.reason or "; ".join(report.missing),
            f"see why in `newsletter status`; the next edition asks {names} again",
            details,
            kind="missing",
        )
    due = should_send(date, settings)
    counts = report.counts
    recipients = sum(counts.values())
    if report.outcome == "nothing":
        if not due.send:
            return None
        return Alert(
            date,
            "no digest was sent on a day one was due",
            report.reason or "the sources returned no papers",
            "the sources answered but brought nothing new (arXiv did announce: not a"
            " holiday); check them in `newsletter status` and run"
            f" `newsletter run --date {date}` once they do",
            details,
            kind="nothing",
        )
    sent = counts.get("sent", 0)
    if recipients and not sent and due.send and report.outcome == "incomplete":
        waiting = counts.get("deferred", 0) + counts.get("pending", 0)
        return Alert(
            date,
            f"none of {plural(recipients, 'message')} delivered yet: {waiting} deferred for a retry",
            report.reason or f"{plural(waiting, 'message')} waiting",
            "the next `newsletter run` retries them; if the mail server's replies in"
            " `newsletter status` name a fault, fix it (`newsletter doctor`), then"
            " `newsletter send --retry --now`",
            details,
            kind="deferred",
        )
    if recipients and not sent and due.send:
        return Alert(
            date,
            "no digest was sent on a day one was due",
            report.reason or f"0 of {plural(recipients, 'message')} sent",
            "check the mail server with `newsletter doctor`, then "
            "`newsletter send --retry --now` sends what is waiting",
            details,
            kind="nothing-sent",
        )
    failed = counts.get("failed", 0)
    if recipients and failed / recipients > settings.alert_failure_threshold:
        share = f"{failed} of {plural(recipients, 'message')} failed ({failed / recipients:.0%})"
        return Alert(
            date,
            f"{plural(failed, 'message')} failed",
            f"{share}, above ALERT_FAILURE_THRESHOLD={settings.alert_failure_threshold:g}",
            "read the failures' last SMTP reply in `newsletter status` (bad addresses, a"
            f" blocklist, a rate limit?); failed rows are not retried automatically: {resend}",
            details,
            kind="failures",
        )
    return None


def alert_for_error(error: BaseException, date: dt.date) -> Alert:
    """The alert for a run that stopped with an exception before it could report."""
    return Alert(
        date,
        "the run stopped with an error",
        one_line(str(error), 500) or type(error).__name__,
        f"fix the cause, then `newsletter run --date {date}` (nothing is sent twice)",
        kind="error",
    )


def build_alert(
    alert: Alert,
    settings: Settings,
    *,
    now: dt.datetime,
    renderer: NoticeRenderer | None = None,
) -> Message:
    """The alert email to ALERT_EMAIL (plain text unless a renderer supplies its notice)."""
    to = settings.alert_email
    if not to:
        raise NewsletterError("NEWSLETTER_ALERT_EMAIL is not set: nowhere to send alerts")
    if renderer is not None:
        context: dict[str, Any] = {
            # The renderer's alert template: summary (also the subject) and detail lines.
            "summary": f"{alert.date}: {alert.problem}: {alert.reason}",
            "details": [f"Next step: {alert.next_step}", *alert.details],
            "date": alert.date.isoformat(),
            "problem": alert.problem,
            "reason": alert.reason,
            "next_step": alert.next_step,
        }
        return renderer.notice("alert", to, subscriber=None, context=context, now=now)
    message_id = make_msgid("alert", domain=settings.sender_address.rpartition("@")[2])
    data = build_message(
        sender=sender_address(settings.from_address),
        to=address(to),
        subject=alert.subject,
        msg_id=message_id,
        date=now,
        text=alert.text,
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    return Message(
        subscriber_id=0,
        to=one_line(to),
        sender=settings.sender_address,
        message_id=message_id,
        subject=alert.subject,
        data=data,
        text=alert.text,
    )


async def send_alert(message: Message, settings: Settings) -> bool:
    """Send through the configured transport within SMTP_TIMEOUT x 2; True when accepted.

    Never raises for a delivery problem: it is logged (an alert must not fail the run)."""
    limit = settings.smtp_timeout * 2
    try:
        async with asyncio.timeout(limit):
            async with open_transport(settings) as transport:
                result = await transport.send(message)
    except TimeoutError:
        log.error("alert to %s not sent: no answer within %gs", message.to, limit)
        return False
    except (NewsletterError, OSError) as exc:
        log.error("alert to %s not sent: %s", message.to, one_line(str(exc), 500))
        return False
    if result.state != "sent":
        log.error("alert to %s not sent: %s %s", message.to, result.code or "", result.text)
        return False
    log.info("alert sent to %s: %s", message.to, message.subject)
    return True


async def maybe_alert(
    report: RunSummary,
    settings: Settings,
    *,
    now: dt.datetime,
    renderer: NoticeRenderer | None = None,
    once: AlertLog | None = None,
    shown: str = "",
    left_out: Sequence[str] = (),
) -> Alert | None:
    """Call at the end of ``newsletter run``: decide, then send (``shown``: see ``deliver``;
    ``left_out``: see ``decide``).

    Returns the alert that was due (sent or not), or None.
    """
    alert = decide(report, settings, left_out)
    if alert is not None:
        await deliver(alert, settings, now=now, renderer=renderer, once=once, shown=shown)
    return alert


async def deliver(
    alert: Alert,
    settings: Settings,
    *,
    now: dt.datetime,
    renderer: NoticeRenderer | None = None,
    once: AlertLog | None = None,
    shown: str = "",
) -> bool:
    """Unless ``once`` has seen its (date, kind) already: log the alert (one ``ALERT`` line
    with the next step) and email it when ALERT_EMAIL is set; True when an email went out.

    ``shown``: what the command prints itself (its outcome or ``error:`` line); a reason
    already in it is not repeated in the ``ALERT`` line, which then names the problem."""
    if once is not None and once.already_sent(alert):
        log.info("alert (%s) for %s already emailed; not again", alert.kind, alert.date)
        return False
    said = alert.problem if alert.reason and alert.reason in shown else alert.reason
    log.warning("ALERT %s: %s. Next step: %s", alert.date, said, alert.next_step)
    if not settings.alert_email:
        return False
    message = build_alert(alert, settings, now=now, renderer=renderer)
    sent = await send_alert(message, settings)
    if sent and once is not None:
        once.remember(alert)
    return sent
