"""Plain value types that flow through the pipeline. No I/O here.

Data flows one way:
``list[Paper]`` -> ``Edition`` -> (``Subscriber``, ``tuple[Section, ...]``) -> ``Message``
-> ledger row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

SubscriberStatus = Literal["pending", "active", "paused", "unsubscribed", "bounced"]
SUBSCRIBER_STATUSES: tuple[SubscriberStatus, ...] = (
    "pending",
    "active",
    "paused",
    "unsubscribed",
    "bounced",
)
Frequency = Literal["daily", "weekly"]
LedgerState = Literal["pending", "sending", "sent", "deferred", "failed", "unknown"]
LEDGER_STATES: tuple[LedgerState, ...] = (
    "pending",
    "sending",
    "sent",
    "deferred",
    "failed",
    "unknown",
)


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper, normalised from any source.

    ``arxiv_id`` carries no version suffix ("2403.15527", "hep-th/9901001").
    Text fields hold the source's text (untrusted: escape before HTML, never
    put raw into a header).
    """

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published: dt.datetime | None = None
    upvotes: int | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    github_repo: str | None = None
    project_page: str | None = None
    comment: str | None = None
    announce_type: str | None = None
    sources: tuple[str, ...] = ()

    @property
    def primary_category(self) -> str | None:
        """The first arXiv category (the paper's primary one), or None."""
        return self.categories[0] if self.categories else None

    @property
    def abs_url(self) -> str:
        """The arXiv abstract page URL."""
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        """The arXiv PDF URL."""
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    @property
    def hf_url(self) -> str | None:
        """The Hugging Face paper page, when the paper came from Daily Papers."""
        return (
            f"https://huggingface.co/papers/{self.arxiv_id}" if "hf_daily" in self.sources else None
        )

    def merge(self, other: Paper) -> Paper:
        """Combine two records of the same paper, keeping the richer field of each."""

        def pick_text(a: str, b: str) -> str:
            return a if len(a) >= len(b) else b

        return replace(
            self,
            title=pick_text(self.title, other.title),
            abstract=pick_text(self.abstract, other.abstract),
            authors=self.authors if len(self.authors) >= len(other.authors) else other.authors,
            categories=tuple(dict.fromkeys(self.categories + other.categories)),
            published=self.published or other.published,
            upvotes=self.upvotes if self.upvotes is not None else other.upvotes,
            ai_summary=self.ai_summary or other.ai_summary,
            ai_keywords=self.ai_keywords or other.ai_keywords,
            github_repo=self.github_repo or other.github_repo,
            project_page=self.project_page or other.project_page,
            comment=self.comment or other.comment,
            announce_type=self.announce_type or other.announce_type,
            sources=tuple(dict.fromkeys(self.sources + other.sources)),
        )

    def to_json(self) -> dict[str, Any]:
        """The paper as JSON-ready values (dates as ISO 8601 strings)."""
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Paper:
        """The inverse of ``to_json``; raises ``KeyError``/``ValueError`` for a bad record."""
        published = data.get("published")
        return cls(
            arxiv_id=str(data["arxiv_id"]),
            title=str(data["title"]),
            abstract=str(data.get("abstract", "")),
            authors=tuple(data.get("authors", ())),
            categories=tuple(data.get("categories", ())),
            published=dt.datetime.fromisoformat(published) if published else None,
            upvotes=data.get("upvotes"),
            ai_summary=data.get("ai_summary"),
            ai_keywords=tuple(data.get("ai_keywords", ())),
            github_repo=data.get("github_repo"),
            project_page=data.get("project_page"),
            comment=data.get("comment"),
            announce_type=data.get("announce_type"),
            sources=tuple(data.get("sources", ())),
        )


@dataclass(frozen=True, slots=True)
class Edition:
    """The frozen set of papers for one date: every subscriber gets this content.

    ``sources``: the sources it was collected from; ``missing``: (source, error) of those
    that failed when it was frozen (a digest sent without them).
    """

    id: int
    date: dt.date
    papers: tuple[Paper, ...]
    created_at: dt.datetime
    sources: tuple[str, ...] = ()
    missing: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """What a subscriber said about their interests."""

    topics: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether the profile names no topic, category or author."""
        return not (self.topics or self.categories or self.authors)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A subscriber: address, name, interests (``profile``), status and frequency.

    ``paused_until`` is the last paused day; ``token_nonce`` makes their signed links theirs
    (``newsletter.tokens``)."""

    id: int
    email: str
    name: str = ""
    profile: Profile = field(default_factory=Profile)
    status: SubscriberStatus = "active"
    frequency: Frequency = "daily"
    paused_until: dt.date | None = None
    created_at: dt.datetime | None = None
    # Random per row; signed links name it (newsletter.tokens), so they die with the row.
    token_nonce: str = field(default="", repr=False)
    legacy_tokens: bool = False  # the row predates token_nonce: old-format links verify

    @property
    def topics(self) -> tuple[str, ...]:
        """The subscriber's topics (``profile.topics``)."""
        return self.profile.topics


@dataclass(frozen=True, slots=True)
class Feedback:
    """One "more like this" (+1) or "less like this" (-1) signal."""

    subscriber_id: int
    paper: Paper
    signal: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RankedItem:
    """One paper in a section, with its score and the reason shown to the reader."""

    paper: Paper
    score: float
    topic: str | None = None
    matched_terms: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Section:
    """One block of the email: a topic's papers, best first, or "also today"."""

    title: str
    items: tuple[RankedItem, ...]
    topic: str | None = None
    empty_note: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered email, ready to send: ``data`` is the exact RFC 5322 bytes (CRLF)."""

    subscriber_id: int
    to: str
    sender: str
    message_id: str
    subject: str
    data: bytes
    html: str = ""
    text: str = ""
    return_path: str = ""  # the envelope sender (VERP address); "" for the FROM address
    edition_date: dt.date | None = None  # the edition a digest is of (None: not a digest)


# --- Delivery results: made by newsletter.deliver, recorded by newsletter.store -------------

# What one send attempt means for its message (``deliver.classify.outcome_for``):
# ``unknown`` when the connection was lost after the body went out (RFC 5321 §4.1.1.4: the
# server may have accepted it), so the ledger must not send it again by default.
DeliveryOutcome = Literal["sent", "deferred", "failed", "unknown"]
# The SMTP stage (RFC 5321 §3.3) a reply or a lost connection came at; "body" is after the
# data was written, before the final reply.
SmtpStage = Literal["connect", "mail", "rcpt", "data", "body"]

# Called at the last moment before the server can have the message (SMTP: the body is
# written but not its final dot; Maildir: the file is in tmp/ but not yet in new/): from
# here on a lost connection or a crash leaves the message "unknown", so the sender records
# that moment. It answers whether to go on: False (the sender no longer owns the message)
# makes the transport abandon it (no final dot, or the tmp/ file removed): nothing is sent.
DataHook = Callable[[], Awaitable[bool]]
NOT_OWNED = "not sent: this sender no longer owns the message"


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """One RCPT TO's answer: the address, what it means, the SMTP reply code and text."""

    address: str
    state: DeliveryOutcome
    code: int | None
    text: str


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one send attempt, as the ledger records it.

    ``state``: what it means for the message; ``code``/``text``: the SMTP reply (None when
    there was none, e.g. a lost connection); ``recipients``: per-RCPT answers;
    ``stage``: the SMTP stage the reply (or the lost connection) came at, when known."""

    state: DeliveryOutcome
    code: int | None
    text: str
    recipients: tuple[RecipientResult, ...] = ()
    stage: SmtpStage | None = None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One row of the send ledger: one (edition, subscriber) pair and where its message is.

    Times are UTC; ``attempts`` counts sends tried; ``last_code``/``last_text`` are the last
    SMTP reply; ``claimed_by`` is the sender (worker id) holding it in ``sending``."""

    id: int
    edition_id: int
    subscriber_id: int
    state: LedgerState
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime
    claimed_at: dt.datetime | None = None
    claimed_by: str | None = None
    next_attempt_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    data_started_at: dt.datetime | None = None
    last_code: int | None = None
    last_text: str | None = None
    message_id: str | None = None
