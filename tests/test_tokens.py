"""The token format (newsletter.tokens): bound to a holder's nonce, purpose-scoped, fail closed."""

from __future__ import annotations

import base64
import hmac
import random

import pytest

from newsletter.errors import TokenError
from newsletter.tokens import Holder, Signer, b32_lower, read_uvarint, uvarint

SIGNER = Signer.from_secrets("tokens-test-key")
ADA = Holder(7, "a" * 32, created=1_000.0)


def only(*holders: Holder):  # type: ignore[no-untyped-def]
    return {h.id: h for h in holders}.get


def test_a_new_nonce_for_the_same_id_ends_every_token() -> None:
    token = SIGNER.sign("preferences", ADA)
    assert SIGNER.verify("preferences", token, only(ADA)).holder_id == 7
    successor = Holder(7, "b" * 32, created=2_000.0)
    with pytest.raises(TokenError, match="invalid"):
        SIGNER.verify("preferences", token, only(successor))
    with pytest.raises(TokenError, match="invalid"):
        SIGNER.verify("preferences", token, only())  # removed: no row at all


def test_purpose_data_and_key_are_all_in_the_mac() -> None:
    token = SIGNER.sign("reply", ADA, b"u")
    assert SIGNER.verify("reply", token, only(ADA)).data == b"u"
    for purpose in ("unsubscribe", "bounce", "feedback"):
        with pytest.raises(TokenError):
            SIGNER.verify(purpose, token, only(ADA))
    with pytest.raises(TokenError):
        Signer.from_secrets("another-key").verify("reply", token, only(ADA))
    rotated = Signer.from_secrets("new-key", ["tokens-test-key"])
    assert rotated.verify("reply", token, only(ADA)).holder_id == 7


def test_holderless_tokens_stay_holderless() -> None:
    csrf = SIGNER.sign("csrf", None, b"subscribe", now=100)
    assert SIGNER.verify("csrf", csrf, only(ADA), now=100).data == b"subscribe"
    with pytest.raises(TokenError, match="expired"):
        SIGNER.verify("csrf", csrf, only(ADA), now=100 + 24 * 3600 + 1)
    with pytest.raises(ValueError):
        SIGNER.sign("csrf", ADA)
    with pytest.raises(ValueError):
        SIGNER.sign("unsubscribe", None)
    with pytest.raises(ValueError):
        SIGNER.sign("unsubscribe", Holder(8, ""))  # a row without a nonce: never signed for


def test_expiry_is_reported_only_for_authentic_tokens() -> None:
    token = SIGNER.sign("confirm", ADA, now=10_000)
    assert SIGNER.verify("confirm", token, only(ADA), now=10_000 + 7 * 24 * 3600).holder_id == 7
    with pytest.raises(TokenError, match="expired"):
        SIGNER.verify("confirm", token, only(ADA), now=10_001 + 7 * 24 * 3600)
    forged = token[:-3] + ("aaa" if token[-3:] != "aaa" else "bbb")
    with pytest.raises(TokenError, match="invalid"):
        SIGNER.verify("confirm", forged, only(ADA), now=10_001 + 7 * 24 * 3600)


def test_base32_lower_case_and_case_insensitive() -> None:
    token = SIGNER.sign("bounce", ADA)
    assert token == token.lower() and set(token) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert SIGNER.verify("bounce", token.upper(), only(ADA)).holder_id == 7


def _v0(purpose: str, value: str, issued: int) -> str:
    payload = f"{value}|{issued:x}".encode()
    mac = hmac.digest(b"tokens-test-key", purpose.encode() + b"\x00" + payload, "sha256")[:16]
    return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in (payload, mac))


def test_old_format_only_for_legacy_holders_since_their_row() -> None:
    legacy = Holder(7, "a" * 32, created=1_000.0, legacy=True)
    assert SIGNER.verify("unsubscribe", _v0("unsubscribe", "7", 1_500), only(legacy)).holder_id == 7
    reply = SIGNER.verify("reply", _v0("reply", "7:confirm:12", 1_500), only(legacy))
    assert reply.legacy_value == "confirm:12"
    with pytest.raises(TokenError):  # issued before this row existed: an earlier holder's
        SIGNER.verify("unsubscribe", _v0("unsubscribe", "7", 999), only(legacy))
    with pytest.raises(TokenError):  # a row made after the upgrade never had old tokens
        SIGNER.verify("unsubscribe", _v0("unsubscribe", "7", 1_500), only(ADA))
    with pytest.raises(TokenError):
        SIGNER.verify("csrf", _v0("csrf", "subscribe", 1_500), only(legacy), now=1_600)


def test_garbage_is_always_a_token_error() -> None:
    rng = random.Random(12)
    good = SIGNER.sign("feedback", ADA, b"+2403.15527")
    alphabet = "abcdefghijklmnopqrstuvwxyz234567ABC-_.=!é "
    for _ in range(3000):
        length = rng.randrange(0, 90)
        text = "".join(rng.choice(alphabet) for _ in range(length))
        if rng.random() < 0.5:
            cut = rng.randrange(len(good))
            text = good[:cut] + text[:3] + good[cut + 3 :]
        if text.lower() == good:
            continue
        with pytest.raises(TokenError):
            SIGNER.verify("feedback", text, only(ADA))


@pytest.mark.parametrize("value", [0, 1, 127, 128, 10**7, 2**31 - 1, 2**56])
def test_uvarint_round_trip_and_minimal(value: int) -> None:
    encoded = uvarint(value)
    assert read_uvarint(encoded + b"tail") == (value, len(encoded))
    with pytest.raises(ValueError):
        read_uvarint(encoded[:-1] + bytes([encoded[-1] | 0x80]) + b"\x00")


def test_b32_lower_is_base64s_base32_in_lower_case_without_padding() -> None:
    rng = random.Random(32)
    for size in range(0, 90):
        for _ in range(40):
            data = rng.randbytes(size)
            assert b32_lower(data) == base64.b32encode(data).decode().rstrip("=").lower()
    assert b32_lower(b"\xff" * 5) == "77777777" and b32_lower(b"") == ""
