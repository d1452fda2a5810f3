"""The one address module: what a valid address is, and its normal form."""

from __future__ import annotations

import re

import pytest

from newsletter import addresses
from newsletter.errors import InputError
from tests.support.needs import need


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("  Ann.Lee@Example.ORG ", "Ann.Lee@example.org"),  # local part keeps its case
        ("u@Bücher.example", "u@xn--bcher-kva.example"),  # IDN kept as punycode
        ("u@xn--bcher-kva.example", "u@xn--bcher-kva.example"),
        ("reader+tag@lists.test", "reader+tag@lists.test"),
    ],
)
def test_valid_addresses_have_one_normal_form(given: str, normal: str) -> None:
    assert addresses.normalize(given) == normal


@pytest.mark.parametrize(
    "given",
    [
        "a" * 65 + "@example.org",  # RFC 5321 §4.5.3.1.1: local part at most 64 octets
        "ann@localhost",
        "ann@example.org\r\nBcc: x@example.org",
        "Ann <ann@example.org>",
        '"quoted"@example.org',
        "ü@example.org",
        "ann@@example.org",
        "",
    ],
)
def test_invalid_addresses_are_refused_with_a_reason(given: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        addresses.normalize(given)


def test_a_persons_input_gets_an_input_error_naming_the_field() -> None:
    with pytest.raises(InputError, match=r"^email: not a valid email address: 'nope' \("):
        addresses.normalize_email("nope")
    assert addresses.normalize_email("a" * 64 + "@example.org").startswith("a" * 64)


def test_from_header_reads_the_address_of_a_header_value() -> None:
    assert addresses.from_header("Ann <Ann@EXAMPLE.org>") == "Ann@example.org"
    assert addresses.from_header("no address here") is None
    assert addresses.from_header("") is None


# The per-domain cache of email-validator's domain step (issue 14, import speed): every
# address gets the same answer with and without it, whether its domain is new to the cache
# or already in it. The corpus: each address-like token in the shared real bounces (a few
# hundred real domains, some malformed), plus IDN, mixed-case and invalid domains, and
# invalid or over-long local parts on valid domains (the library checks the local part
# first, and the length last: the error shown must not change).
CRAFTED = [
    "u@Bücher.example",
    "u@bücher.example",
    "u@BÜCHER.EXAMPLE",
    "u@xn--bcher-kva.example",
    "Ann@日本語.jp",
    "ann@example．org",  # a fullwidth full stop, mapped to "." by UTS-46
    "ann@ÖBB.at",
    "ann@straße.de",
    "ann@exa mple.org",
    "ann@example..org",
    "ann@-example.org",
    "ann@example-.org",
    "ann@ab--cd.org",
    "ann@xn--zz.example",
    "ann@localhost",
    "ann@printer.local",
    "ann@site.invalid",
    "ann@lists.test",
    "ann@example.org.",
    "ann@" + "a" * 64 + ".org",
    "ann@" + ("b" * 60 + ".") * 5 + "org",
    "ann@under_score.org",
    "ann@[127.0.0.1]",
    "ann@⒈example.org",
    "Ann.Lee@Example.ORG",
    "Postmaster@example.org",
    "a" * 64 + "@example.org",
    "a" * 65 + "@example.org",
    "a" * 64 + "@" + "c" * 60 + "." + "d" * 60 + "." + "e" * 60 + ".org",
    "ü@example.org",
    "ann..lee@example.org",
    ".ann@example.org",
    '"quoted"@example.org',
    "ann@",
    "@example.org",
    "ann@@example.org",
]


def _address_tokens() -> list[str]:
    from bench.bounce_eval import corpus_dir

    folder = corpus_dir()
    need(folder.is_dir(), f"the shared bounce corpus at {folder}")
    found: set[str] = set()
    for path in sorted(folder.glob("*.eml")):
        text = path.read_bytes().decode("utf-8", "replace")
        found.update(re.findall(r"[^\s<>()\[\],;:\"'=]+@[^\s<>()\[\],;:\"'=]+", text))
    return sorted(found)


def _answer(address: str) -> str:
    try:
        return "ok " + addresses.normalize(address)
    except ValueError as exc:
        return f"refused {exc}"


def test_the_domain_cache_gives_the_same_answer_for_every_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cached = addresses.domain_checks
    assert cached is not None, "email-validator's domain step was not found: no cache"
    corpus = _address_tokens() + CRAFTED
    assert len(corpus) > 300
    cached.cache_clear()
    first = [_answer(a) for a in corpus]  # domains new to the cache, then repeated ones
    again = [_answer(a) for a in corpus]  # every valid domain now in the cache
    assert cached.cache_info().hits >= len(
        {a for a, r in zip(corpus, first, strict=True) if "ok" in r}
    )
    step = getattr(addresses._LIBRARY, addresses._DOMAIN_STEP)
    monkeypatch.setattr(addresses._LIBRARY, addresses._DOMAIN_STEP, step.__wrapped__)
    plain = [_answer(a) for a in corpus]
    differ = [
        (a, p, f, g)
        for a, p, f, g in zip(corpus, plain, first, again, strict=True)
        if not p == f == g
    ]
    assert not differ, differ[:5]
    # Both kinds are in the corpus: the comparison covers refusals and IDN answers too.
    assert sum(r.startswith("refused") for r in plain) > 20
    assert "ok u@xn--bcher-kva.example" in plain
