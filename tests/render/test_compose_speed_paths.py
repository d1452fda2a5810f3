"""The fast paths of message assembly give exactly the bytes of the plain ones."""

from __future__ import annotations

import binascii
import random
from email.headerregistry import Address
from email.policy import SMTP

from newsletter.models import Edition, Profile, Subscriber
from newsletter.render import Renderer
from newsletter.render.mime import QpCache, _header
from tests.render.conftest import NOW, split_sections

POLICY = SMTP.clone(max_line_length=998)


def reference_qp(content: str) -> bytes:
    """Quoted-printable of the whole text at once, as the ``email`` generator would."""
    data = content.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


def test_line_cache_matches_whole_text_encoding_on_real_digests(
    renderer: Renderer, largest_day: Edition
) -> None:
    cache = QpCache()
    topic_sets = [("multimodal agents",), ("image generation", "benchmarks"), ()]
    for sid in range(1, 13):
        topics = topic_sets[sid % 3]
        reader = Subscriber(sid, f"r{sid}@example.com", profile=Profile(topics), token_nonce="n")
        message = renderer.digest(
            largest_day, reader, split_sections(list(largest_day.papers), topics), now=NOW
        )
        assert cache.encode(message.html) == reference_qp(message.html)
        assert cache.encode(message.text) == reference_qp(message.text)
        # The renderer's own cache was used for the message bytes: they carry the same parts.
        assert reference_qp(message.html) in message.data
        assert reference_qp(message.text) in message.data


def test_line_cache_keeps_shared_lines_and_not_personal_ones() -> None:
    cache = QpCache()
    shared = "<p>" + "A shared paper card, long enough to be folded. " * 4 + "</p>"
    for sid in range(5):
        cache.encode(f"{shared}\n<a href='https://x.test/feedback/{sid}'>more</a>\n{shared}")
    kept = cache._lines
    assert shared.encode() in kept
    assert not any(b"feedback" in line for line in kept)


def test_line_cache_matches_on_awkward_text() -> None:
    rng = random.Random(5)
    alphabet = ["a", " ", "\t", "=", ".", "\n", "\r\n", "\r", "é", "€", "x" * 90, "-- ", "<b>"]
    cache = QpCache(max_lines=50)
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert cache.encode(text) == reference_qp(text), repr(text)
        assert cache.encode(text) == reference_qp(text), repr(text)  # now from the cache


def test_plain_addresses_are_written_as_the_policy_writes_them() -> None:
    names = [
        "",
        "Ada",
        "Ada Lovelace",
        "Daily Papers",
        "O'Brien",
        "Ada Lovelace-Byron",
        "Dr. Ada",  # a dot: the policy quotes it
        'Ada "the first"',
        "Ada, Countess",
        "Zoë",
        "=?utf-8?q?x?=",
        "Ada (math)",
        "Ada  Lovelace",
        " Ada",
    ]
    addresses = [("ada", "example.org"), ("ada.lovelace+news", "mail.example.co.uk"), ("a_b", "x")]
    for name in names:
        for user, domain in addresses:
            value = Address(display_name=name, username=user, domain=domain)
            expected = POLICY.fold_binary("To", POLICY.header_factory("To", value))
            assert _header("To", value) == expected, (name, user, domain)


def test_line_cache_matches_where_a_soft_break_meets_trailing_space() -> None:
    # Lines of 70-80 characters ending in a space or tab: the encoder's soft break and the
    # escape of trailing white space meet at the 76th column.
    rng = random.Random(11)
    cache = QpCache()
    for _ in range(3000):
        lines = [
            "".join(rng.choice("ab .=é-") for _ in range(rng.randint(68, 80))) + rng.choice(" \t")
            for _ in range(rng.randint(1, 4))
        ]
        text = "\n".join(lines) + rng.choice(["", "\n"])
        assert cache.encode(text) == reference_qp(text), repr(text)
        assert cache.encode(text) == reference_qp(text), repr(text)
