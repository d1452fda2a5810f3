"""Header limits (issue 15, item 7): encoded-words of at most 75 characters on lines of at
most 76 (RFC 2047 §2), and local parts of at most 64 octets (RFC 5321 §4.5.3.1.1)."""

from __future__ import annotations

import datetime as dt
import re
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default
from email.utils import getaddresses

import pytest

from newsletter.config import Settings
from newsletter.errors import SettingsError
from newsletter.links import MAX_LOCAL_PART, Links, longest_tag
from newsletter.models import Edition, Message, Paper, Profile, RankedItem, Section, Subscriber
from newsletter.ops.doctor import check_settings
from newsletter.outbox.alerts import Alert
from newsletter.outbox.alerts import build_alert as compose_alert
from newsletter.render import Renderer, notices
from newsletter.tokens import Signer

NOW = dt.datetime(2026, 8, 18, 6, 30, tzinfo=dt.UTC)
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
TOPICS = (
    "Maschinelles Lernen für Übersetzung und Sprachverständnis",
    "機械学習と自然言語処理の最新研究についての詳細な調査",
    "ünïcödé everywhere, with “quotes” — and dashes",
)


def _settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "_env_file": None,
        "base_url": "https://papers.example.org",
        "secret_key": "header-limits-key",
        "from_address": "Tägliche Papiere — 機械学習の論文 <papers@example.org>",
        "list_name": "Tägliche Papiere über maschinelles Lernen",
    }
    return Settings(**{**base, **values})  # type: ignore[arg-type]


def _links(settings: Settings) -> Links:
    return Links.for_settings(settings, Signer.from_secrets("header-limits-key"))


def _reader(sid: int) -> Subscriber:
    return Subscriber(
        id=sid,
        email=f"reader{sid}@example.com",
        name="Ada Lovelace-Byron, Gräfin von Ockham und Lovelace 伯爵夫人",
        profile=Profile(topics=TOPICS),
        token_nonce="n" * 32,
    )


def _digest(settings: Settings, sid: int) -> Message:
    paper = Paper("2608.00001", "Ein Papier über Übersetzung", "Zusammenfassung.")
    edition = Edition(1, NOW.date(), (paper,), NOW)
    sections = tuple(
        Section(title=t, topic=t, items=(RankedItem(paper=paper, score=1.0),)) for t in TOPICS
    )
    return Renderer(settings, _links(settings)).digest(edition, _reader(sid), sections, now=NOW)


def _head(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def decoded(data: bytes, name: str) -> str:
    """A header as an RFC 2047 §6.2 reader shows it (whitespace between encoded-words
    dropped; the ``email`` package's address parser keeps it, against the RFC)."""
    head = _head(data).replace(b"\r\n ", b" ").decode("ascii")
    raw = next(v for n, _, v in (line.partition(": ") for line in head.split("\r\n")) if n == name)
    return str(make_header(decode_header(raw)))


def assert_rfc2047(data: bytes) -> None:
    """Every encoded-word is at most 75 characters; a line with one is at most 76."""
    head = _head(data)
    words = ENCODED_WORD.findall(head)
    assert words, "expected encoded-words in these headers"
    assert max(len(w) for w in words) <= 75, max(words, key=len)
    for line in head.split(b"\r\n"):
        if ENCODED_WORD.search(line):
            assert len(line) <= 76, line


def test_digest_headers_with_non_ascii_text_fold_as_rfc_2047_says() -> None:
    settings = _settings()
    message = _digest(settings, 42)
    assert_rfc2047(message.data)
    parsed = message_from_bytes(message.data, policy=default)
    assert str(parsed["Subject"]) == message.subject
    assert "1 on Maschinelles Lernen für" in message.subject and "機械学習" in message.subject
    assert decoded(message.data, "To") == f"{_reader(42).name} <reader42@example.com>"
    assert decoded(message.data, "From") == settings.from_address
    assert parsed["To"].addresses[0].addr_spec == "reader42@example.com"
    assert parsed["List-Unsubscribe"].startswith("<https://papers.example.org/unsubscribe/")


@pytest.mark.parametrize(
    "subject",
    [
        "ä",
        "x" * 70 + " ä",
        "ä" * 200,
        "Mixed ascii words and ÜMLÄUTS, then ascii again and 日本語テキスト at the end",
        "under_score = equals? question ünd",
    ],
)
def test_any_non_ascii_subject_round_trips_within_the_limits(subject: str) -> None:
    notice = notices.build_notice(
        _settings(), to="a@example.org", subject=subject, body="Hello.", subscriber_id=1, now=NOW
    )
    assert_rfc2047(notice.data)
    assert str(message_from_bytes(notice.data, policy=default)["Subject"]) == subject


def test_text_that_looks_like_an_encoded_word_stays_text() -> None:
    """A feed's title in the subject ("top: TITLE") must not be decoded by the reader."""
    title = "=?utf-8?b?4oCuZ25pcC5leGU=?= and more"
    paper = Paper("2608.00002", title, "Abstract.")
    edition = Edition(1, NOW.date(), (paper,), NOW)
    sections = (Section(title="Also today", items=(RankedItem(paper=paper, score=1.0),)),)
    settings = _settings(list_name="Daily Papers", from_address="papers@example.org")
    message = Renderer(settings, _links(settings)).digest(edition, _reader(3), sections, now=NOW)
    assert message.subject.endswith(f"top: {title}")
    assert str(message_from_bytes(message.data, policy=default)["Subject"]) == message.subject


def test_replies_and_alerts_fold_the_same_way() -> None:
    settings = _settings(alert_email="ops@example.org")
    reader = _reader(7)
    reply = notices.already_subscribed(settings, _links(settings), reader, now=NOW)
    assert_rfc2047(reply.data)
    alert = Alert(NOW.date(), "sending failed", "3 of 120 failed für alle", "look at the log")
    assert_rfc2047(compose_alert(alert, settings, now=NOW).data)


@pytest.mark.parametrize("sid", [1, 127, 128, 16_384, 2_097_152, 10**7, 2**31 - 1])
def test_every_generated_local_part_fits_64_octets(sid: int) -> None:
    settings = _settings(verp=True)
    message = _digest(settings, sid)
    parsed = message_from_bytes(message.data, policy=default)
    mailto = re.search(r"<mailto:([^?>]+)", str(parsed["List-Unsubscribe"]))
    assert mailto is not None
    addresses = [
        mailto.group(1),
        *(a for _, a in getaddresses([str(parsed["Reply-To"])])),
        message.return_path,
    ]
    links = _links(settings)
    reader = _reader(sid)
    addresses += [
        links.command_address("confirm", reader, event_id=event) for event in (1, 10**7, 2**31 - 1)
    ]
    assert message.return_path.startswith(links.reply_address.partition("@")[0] + "+bounce-")
    assert links.bounce_token(message.return_path.rpartition("@")[0]) is not None
    for address in addresses:
        local = address.rpartition("@")[0]
        assert len(local.encode()) <= MAX_LOCAL_PART, (len(local), address)


def test_a_reply_local_part_too_long_for_its_tokens_is_a_settings_error() -> None:
    room = MAX_LOCAL_PART - longest_tag()
    assert room >= 16  # "papers", "newsletter", "research-digest" fit
    fits = _settings(reply_address=f"{'r' * room}@example.org")
    reader = _reader(2**31 - 1)
    address = _links(fits).command_address("confirm", reader, event_id=2**31 - 1)
    assert len(address.rpartition("@")[0]) <= MAX_LOCAL_PART
    with pytest.raises(SettingsError, match="NEWSLETTER_REPLY_ADDRESS"):
        _links(_settings(reply_address=f"{'r' * (room + 1)}@example.org"))
    with pytest.raises(SettingsError, match="NEWSLETTER_FROM"):
        _links(_settings(from_address=f"Papers <{'f' * (room + 1)}@example.org>"))


def test_doctor_reports_a_reply_address_too_long_for_its_tokens() -> None:
    room = MAX_LOCAL_PART - longest_tag()
    found = check_settings(_settings(reply_address=f"{'r' * (room + 1)}@example.org"))
    (check,) = [c for c in found if c.name == "reply_address"]
    assert check.status == "FAIL" and "at most 19 characters" in check.detail
    assert not [c for c in check_settings(_settings()) if c.name == "reply_address"]


@pytest.mark.parametrize(
    "name",
    ['=?utf-8?b?QmNjOiB4?= "Quote" <evil@x>', "=?utf-8?q?Admin?=", "Ada =?x?q?y?= Lovelace"],
)
def test_a_name_that_looks_like_an_encoded_word_reaches_the_reader_as_typed(name: str) -> None:
    """Before: the name '=?utf-8?b?QmNjOiB4?= ...' was written decoded, `To: "Bcc: x ..."`
    (found by an outside tester): a reader must see the stored name, not what it decodes to."""
    settings = _settings(from_address="Papers <papers@example.org>", list_name="Papers")
    reader = Subscriber(
        id=7, email="reader7@example.com", name=name, profile=Profile(), token_nonce="n" * 32
    )
    paper = Paper("2608.00001", "A paper", "An abstract.")
    edition = Edition(1, NOW.date(), (paper,), NOW)
    sections = (Section(title="Top", topic="", items=(RankedItem(paper=paper, score=1.0),)),)
    message = Renderer(settings, _links(settings)).digest(edition, reader, sections, now=NOW)
    parsed = message_from_bytes(message.data, policy=default)
    [to] = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == (name, "reader7@example.com")
    assert b"Bcc" not in _head(message.data)
