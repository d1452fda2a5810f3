"""The one address module: what a valid address is, and its normal form."""

from __future__ import annotations

import pytest

from newsletter import addresses
from newsletter.errors import InputError


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
