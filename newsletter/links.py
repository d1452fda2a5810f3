"""Every URL, address and identifier the emails carry, and the reading of their tokens.

One place builds them and reads them back, so that the renderer, the web app and the
inbox cannot drift apart. Paths (under ``BASE_URL``):

    /confirm/{token}          confirm a subscription (token purpose "confirm", 7 days)
    /unsubscribe/{token}      GET: a page with one button; POST: unsubscribe (RFC 8058)
    /resubscribe/{token}      subscribe again after unsubscribing (purpose "resubscribe", 30 days)
    /preferences/{token}      change topics, frequency, pause (purpose "preferences")
    /feedback/{token}/{more|less}/{arxiv_id}
                              "more/less like this": one token per email (purpose "edition":
                              reader and edition date), the paper named in the path, unsigned
    /feedback/{token}         the same, one token per paper (purpose "feedback"; emails before
                              issue 18, still read)
    /view/{token}             the reader's own email as a page, under the same edition token
                              (purpose "view" with the ISO date before issue 18, still read)
    /archive/                 web versions of past editions; /archive/{date}.html, /archive/feed.xml
    /subscribe                the subscription form

Addresses: ``local+COMMAND-TOKEN@domain`` (commands by reply, purpose "reply") and the
VERP return path ``local+bounce-TOKEN@domain`` (purpose "bounce"); every local part is at most
64 octets (RFC 5321 §4.5.3.1.1). Message-IDs are an HMAC under the secret key.

Every token is bound to its subscriber's nonce (``newsletter.tokens``): reading one needs
``find(id) -> Subscriber | None``, and a removed subscriber's tokens are invalid. Data a
token carries after the holder, by purpose: edition the edition date (``uvarint`` of its
proleptic ordinal); feedback ``b"+"|b"-"`` then the arXiv id; view the ISO date; reply a
one-letter command (``REPLY_CODES``), for "confirm" then the asked event's id.

What a changed path under an edition token means: the token proves the reader and the
edition, not the paper or the signal. Someone who edits the paper id or ``more``/``less``
in a link from their email votes as themselves, on that edition; the web app accepts only a
paper the edition (or, for weekly readers, its week) showed to anyone. They could click the
other button anyway, and they cannot reach another reader or another edition without
forging the MAC.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote

from newsletter.config import Settings
from newsletter.errors import SettingsError, TokenError
from newsletter.models import Subscriber
from newsletter.tokens import MAX_HOLDER_ID, Holder, Signer, b32_lower, read_uvarint, uvarint

Find = Callable[[int], Subscriber | None]

# The commands a reply address can carry, and the byte its token signs for each.
REPLY_CODES = {"reply": b"r", "unsubscribe": b"u", "confirm": b"c"}
# The word a feedback link under an edition token carries for each signal.
SIGNAL_WORDS = {1: "more", -1: "less"}
MAX_LOCAL_PART = 64  # octets, RFC 5321 §4.5.3.1.1
VERP_TAG = "bounce"  # reply+bounce-TOKEN@domain
LEGACY_VERP_LOCAL = "bounces"  # bounces+TOKEN@domain, the form before issue 15
_MAX_EVENT_ID = 2**31 - 1


def holder(subscriber: Subscriber) -> Holder:
    """The token holder a subscriber row stands for (id, nonce, creation, legacy flag)."""
    created = subscriber.created_at.timestamp() if subscriber.created_at else 0.0
    return Holder(subscriber.id, subscriber.token_nonce, created, subscriber.legacy_tokens)


@dataclass(frozen=True, slots=True)
class Links:
    """Every link and address an email carries, signed (``tokens.Signer``) for its holder:
    unsubscribe (RFC 8058 one-click), preferences, feedback, reply commands, the VERP return
    path, and unsigned archive links under ``base_url``."""

    base_url: str
    signer: Signer
    reply_address: str  # e.g. "papers@example.org"; commands go to papers+CMD-TOKEN@...

    def __post_init__(self) -> None:
        problem = reply_address_problem(self.reply_address)
        if problem is not None:
            raise ValueError(problem)

    @classmethod
    def for_settings(cls, settings: Settings, signer: Signer) -> Links:
        """The links of this install: BASE_URL, and replies to REPLY_ADDRESS (or FROM)."""
        check_reply_address(settings)
        reply = reply_address_for(settings.from_address, settings.reply_address)
        return cls(settings.base_url, signer, reply)

    # -- making ---------------------------------------------------------------------------

    def _sign(self, purpose: str, subscriber: Subscriber, data: bytes = b"") -> str:
        return self.signer.sign(purpose, holder(subscriber), data)

    def unsubscribe(self, subscriber: Subscriber) -> str:
        """The one-click unsubscribe URL (RFC 8058); the token never expires."""
        return f"{self.base_url}/unsubscribe/{self._sign('unsubscribe', subscriber)}"

    def preferences(self, subscriber: Subscriber) -> str:
        """The preferences page URL for ``subscriber``."""
        return f"{self.base_url}/preferences/{self._sign('preferences', subscriber)}"

    def confirm(self, subscriber: Subscriber, *, now: dt.datetime) -> str:
        """The confirmation link; its token is dated ``now`` and expires after
        ``tokens.MAX_AGE["confirm"]`` seconds (double opt-in)."""
        token = self.signer.sign("confirm", holder(subscriber), now=now.timestamp())
        return f"{self.base_url}/confirm/{token}"

    def resubscribe(self, subscriber: Subscriber, *, now: dt.datetime) -> str:
        """The goodbye email's "subscribe again" link; its token is dated ``now`` and
        expires after ``tokens.MAX_AGE["resubscribe"]`` seconds (30 days)."""
        token = self.signer.sign("resubscribe", holder(subscriber), now=now.timestamp())
        return f"{self.base_url}/resubscribe/{token}"

    def feedback(self, subscriber: Subscriber, arxiv_id: str, signal: int) -> str:
        """The URL that records ``signal`` (+1 more like this, -1 less) on ``arxiv_id``."""
        data = (b"+" if signal > 0 else b"-") + arxiv_id.encode("utf-8")
        return f"{self.base_url}/feedback/{self._sign('feedback', subscriber, data)}"

    def edition_token(self, subscriber: Subscriber, date: dt.date) -> str:
        """The one token of ``subscriber``'s email of the edition of ``date`` (purpose
        "edition", never expires while the reader exists); ``feedback_url`` hangs each
        paper's links under it, so an email costs one signature, not two per paper."""
        return self._sign("edition", subscriber, uvarint(date.toordinal()))

    def feedback_url(self, edition_token: str, arxiv_id: str, signal: int) -> str:
        """``BASE_URL/feedback/TOKEN/more|less/ARXIV_ID``: ``signal`` (+1 more like this,
        -1 less) on ``arxiv_id`` under an ``edition_token``; no signature of its own."""
        word = SIGNAL_WORDS[1 if signal > 0 else -1]
        return f"{self.base_url}/feedback/{edition_token}/{word}/{_path_quoted(arxiv_id)}"

    def archive_page(self, date: dt.date) -> str:
        """The web archive page of the edition of ``date``."""
        return f"{self.base_url}/archive/{date.isoformat()}.html"

    def web_view(self, subscriber: Subscriber | None, date: dt.date) -> str:
        """Where a reader reads the edition of ``date`` on the web ("View in browser",
        "N more papers for you today"): the reader's own email as a page
        (``/view/TOKEN`` under the email's ``edition_token``, never expires), or the
        edition's public archive page when there is no reader."""
        if subscriber is None:
            return self.archive_page(date)
        return self.edition_view(self.edition_token(subscriber, date))

    def edition_view(self, edition_token: str) -> str:
        """``BASE_URL/view/TOKEN``: the personal web view under an ``edition_token`` (the
        renderer signs one token per email and hangs this and the feedback links on it)."""
        return f"{self.base_url}/view/{edition_token}"

    def archive_index(self) -> str:
        """The web archive's index page."""
        return f"{self.base_url}/archive/"

    def subscribe(self) -> str:
        """The sign-up page."""
        return f"{self.base_url}/subscribe"

    def command_address(
        self, command: str, subscriber: Subscriber, *, event_id: int | None = None
    ) -> str:
        """``local+COMMAND-TOKEN@domain``: a reply address that proves who sent the command.

        ``command``: one of ``REPLY_CODES``; "confirm" carries the id of the asked event."""
        if command not in REPLY_CODES or (command == "confirm") != (event_id is not None):
            raise ValueError(f"no reply address for command {command!r} (event {event_id})")
        data = REPLY_CODES[command] + (uvarint(event_id) if event_id is not None else b"")
        local, _, domain = self.reply_address.partition("@")
        return f"{local}+{command}-{self._sign('reply', subscriber, data)}@{domain}"

    def mailto(self, command: str, subscriber: Subscriber) -> str:
        """A ``mailto:`` URL (RFC 6068) to the signed reply address for ``command``."""
        address = self.command_address(command, subscriber)
        return f"mailto:{address}?subject={quote(command)}"

    def return_path(self, subscriber: Subscriber) -> str:
        """The VERP envelope sender ``local+bounce-TOKEN@domain``, a plus-address of the
        reply mailbox (which is read): a bounce to it names the reader."""
        local, _, domain = self.reply_address.partition("@")
        return f"{local}+{VERP_TAG}-{self._sign('bounce', subscriber)}@{domain}"

    def bounce_token(self, local_part: str) -> str | None:
        """The VERP token in a local part: ``reply+bounce-TOKEN`` (ours now), or
        ``bounces+TOKEN`` (the earlier form, still read for mail sent with it); else None."""
        base, plus, tag = local_part.partition("+")
        if not plus or not tag:
            return None
        if base.lower() == self.reply_address.partition("@")[0].lower():
            command, dash, token = tag.partition("-")
            return token if dash and command.lower() == VERP_TAG and token else None
        return tag if base.lower() == LEGACY_VERP_LOCAL else None

    def message_id(self, kind: str, key: str, domain: str) -> str:
        """``<kind.ID@domain>``, ID = 26 base32 characters (130 bits) of an HMAC of
        ``(kind, key)`` under the secret key: stable for the same (kind, key), and
        unguessable without the key, so a DSN that quotes one proves it saw our email."""
        mac = self.signer.digest("message-id", f"{kind}\x00{key}".encode())
        return f"<{kind}.{b32_lower(mac)[:26]}@{domain}>"

    # -- reading --------------------------------------------------------------------------

    def _verify(
        self, purpose: str, token: str, find: Find, now: dt.datetime
    ) -> tuple[Subscriber, bytes, str | None]:
        found: dict[int, Subscriber] = {}

        def holder_of(subscriber_id: int) -> Holder | None:
            subscriber = find(subscriber_id)
            if subscriber is None:
                return None
            found[subscriber_id] = subscriber
            return holder(subscriber)

        verified = self.signer.verify(purpose, token, holder_of, now=now.timestamp())
        return found[verified.holder_id], verified.data, verified.legacy_value

    def subscriber_for(self, purpose: str, token: str, find: Find, now: dt.datetime) -> Subscriber:
        """The subscriber a confirm, resubscribe, unsubscribe, preferences or bounce token
        is for; ``TokenError("invalid" | "expired")`` otherwise."""
        if purpose not in ("confirm", "resubscribe", "unsubscribe", "preferences", "bounce"):
            raise ValueError(f"{purpose!r} tokens carry more than a subscriber")
        subscriber, data, legacy = self._verify(purpose, token, find, now)
        if data or legacy:
            raise TokenError("invalid")
        return subscriber

    def feedback_for(self, token: str, find: Find, now: dt.datetime) -> tuple[Subscriber, str, int]:
        """``(subscriber, arXiv id, +1 | -1)`` of a feedback token."""
        subscriber, data, legacy = self._verify("feedback", token, find, now)
        if legacy is not None:  # version 0: "ARXIV_ID:+1"
            arxiv_id, _, sign = legacy.rpartition(":")
            data = sign[:1].encode() + arxiv_id.encode() if sign in ("+1", "-1") else b""
        if len(data) < 2 or data[:1] not in (b"+", b"-"):
            raise TokenError("invalid")
        return subscriber, data[1:].decode("utf-8", "replace"), 1 if data[:1] == b"+" else -1

    def edition_feedback_for(
        self, token: str, word: str, arxiv_id: str, find: Find, now: dt.datetime
    ) -> tuple[Subscriber, dt.date, str, int]:
        """``(subscriber, edition date, arXiv id, +1 | -1)`` of a feedback link under an
        edition token (``feedback_url``); ``TokenError`` for a bad token or signal word.
        The paper id is not signed: the caller checks that the edition showed it."""
        signals = {name: value for value, name in SIGNAL_WORDS.items()}
        subscriber, data, legacy = self._verify("edition", token, find, now)
        if word not in signals or not arxiv_id or len(arxiv_id) > 64:
            raise TokenError("invalid")
        return subscriber, _edition_day(data, legacy), arxiv_id, signals[word]

    def view_for(self, token: str, find: Find, now: dt.datetime) -> tuple[Subscriber, dt.date]:
        """``(subscriber, edition date)`` of a personal web view link: an edition token
        (``edition_view``), or a "view" token (the ISO date; emails before issue 18, still
        read); ``TokenError`` otherwise."""
        try:
            subscriber, data, legacy = self._verify("edition", token, find, now)
        except TokenError:
            pass
        else:
            return subscriber, _edition_day(data, legacy)
        subscriber, data, legacy = self._verify("view", token, find, now)
        try:
            if legacy is not None:
                raise ValueError("no version-0 view tokens")
            return subscriber, dt.date.fromisoformat(data.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise TokenError("invalid") from None

    def reply_for(
        self, token: str, find: Find, now: dt.datetime
    ) -> tuple[Subscriber, str, int | None]:
        """``(subscriber, command, asked event id or None)`` of a reply-address token."""
        subscriber, data, legacy = self._verify("reply", token, find, now)
        if legacy is not None:  # version 0: "COMMAND" or "confirm:EVENT_ID"
            command, _, event = legacy.partition(":")
            return subscriber, command, int(event) if event.isdigit() else None
        codes = {code: name for name, code in REPLY_CODES.items()}
        command = codes.get(data[:1], "")
        if command == "confirm":
            try:
                event_id, end = read_uvarint(data, 1)
            except ValueError:
                raise TokenError("invalid") from None
            if end != len(data) or not 0 < event_id <= _MAX_EVENT_ID:
                raise TokenError("invalid")
            return subscriber, command, event_id
        if not command or len(data) != 1:
            raise TokenError("invalid")
        return subscriber, command, None


def _edition_day(data: bytes, legacy: str | None) -> dt.date:
    """The edition date an edition token carries (``uvarint`` of its ordinal)."""
    try:
        if legacy is not None:
            raise ValueError("no version-0 edition tokens")
        ordinal, end = read_uvarint(data)
        if end != len(data):
            raise ValueError("trailing bytes")
        return dt.date.fromordinal(ordinal)
    except ValueError:
        raise TokenError("invalid") from None


@functools.lru_cache(maxsize=4096)
def _path_quoted(arxiv_id: str) -> str:
    """``arxiv_id`` as a URL path (old-style ids keep their ``/``); an edition's ids repeat
    in every email."""
    return quote(arxiv_id, safe="/")


@functools.cache
def longest_tag() -> int:
    """Octets a reply (or VERP) address adds to the local part at most: ``+confirm-TOKEN``
    for the largest ids (subscriber and event ids below 2^31)."""
    worst = Holder(MAX_HOLDER_ID, "x")
    signer = Signer((b"k",))
    longest = 0
    for command, code in REPLY_CODES.items():
        data = code + (uvarint(_MAX_EVENT_ID) if command == "confirm" else b"")
        longest = max(longest, len(f"+{command}-{signer.sign('reply', worst, data)}"))
    return max(longest, len(f"+{VERP_TAG}-{signer.sign('bounce', worst)}"))


def reply_address_problem(reply_address: str) -> str | None:
    """Why ``reply_address`` cannot carry reply and VERP addresses (its local part plus
    ``+confirm-TOKEN`` would pass the 64 octets of RFC 5321 §4.5.3.1.1), or None."""
    if len(reply_address.partition("@")[0]) + longest_tag() <= MAX_LOCAL_PART:
        return None
    limit = MAX_LOCAL_PART - longest_tag()
    return (
        f"the local part of {reply_address} is too long for reply addresses "
        f"(at most {limit} characters: local+unsubscribe-TOKEN must fit "
        f"{MAX_LOCAL_PART} octets, RFC 5321 §4.5.3.1.1)"
    )


def check_reply_address(settings: Settings) -> None:
    """``SettingsError`` naming NEWSLETTER_REPLY_ADDRESS (or NEWSLETTER_FROM, the default
    reply mailbox) when ``reply_address_problem`` finds one. The CLI calls it as the
    settings load, before any command has done anything."""
    reply = reply_address_for(settings.from_address, settings.reply_address)
    problem = reply_address_problem(reply)
    if problem is not None:
        name = "NEWSLETTER_REPLY_ADDRESS" if settings.reply_address else "NEWSLETTER_FROM"
        raise SettingsError(name, problem)


def reply_address_for(from_address: str, reply_address: str | None) -> str:
    """The mailbox replies go to: ``REPLY_ADDRESS`` or, by default, the From address."""
    return parseaddr(reply_address or from_address)[1]
