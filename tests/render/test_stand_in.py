"""The edition token's stand-in (``render.stand_in``): swapping it for the token in the
quoted-printable gives the bytes of the text encoded with the token, wherever a soft
break falls."""

from __future__ import annotations

import binascii
import random
import string

from newsletter.render.stand_in import MIN_LENGTH, StandIns

TOKEN_LETTERS = string.ascii_lowercase + "234567"


def qp(text: str) -> bytes:
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def test_a_stand_in_is_letters_as_long_as_its_token_one_per_length() -> None:
    stand_ins = StandIns()
    rng = random.Random(1)
    for length in (24, 26, 27, 29, 40):
        token = "".join(rng.choice(TOKEN_LETTERS) for _ in range(length))
        fake = stand_ins.of(token)
        assert len(fake) == length and fake.isalpha() and fake.islower() and fake != token
        assert stand_ins.of(token[::-1]) == fake  # another reader, same length
    assert stand_ins.of("short") == "short"  # below MIN_LENGTH: kept as it is
    assert stand_ins.of("A" * MIN_LENGTH) == "A" * MIN_LENGTH  # not a token: kept


def test_the_swapped_encoding_is_the_encoding_with_the_token_at_every_column() -> None:
    # Lines that put a token at every column and cut it after every letter by a soft
    # break, beside the characters quoted-printable escapes or treats specially.
    stand_ins = StandIns()
    rng = random.Random(18)
    around = ["", " ", "=", "é", "\t", ".", "a" * 70, '<a href="x">', "🚀", "-" * 75]
    cut = 0
    for _ in range(3000):
        length = rng.choice([24, 26, 27, 29])
        token = "".join(rng.choice(TOKEN_LETTERS) for _ in range(length))
        fake = stand_ins.of(token)
        parts = []
        for _ in range(rng.randint(1, 4)):
            parts.append("x" * rng.randint(0, 80) + rng.choice(around))
            parts.append(rng.choice(["", "\n", "/feedback/", " "]))
        places = rng.randint(1, 3)
        text = ""
        for index in range(places):
            text += rng.choice(parts) + "{}" + (rng.choice(parts) if index == places - 1 else "")
        text += rng.choice(["", "\n", " ", " \n"])
        with_fake, with_token = text.replace("{}", fake), text.replace("{}", token)
        encoded = qp(with_fake)
        cut += encoded.count(fake.encode()) < with_fake.count(fake)
        swapped = stand_ins.swap_qp(encoded, with_fake.count(fake), fake, token)
        assert swapped == qp(with_token), (text, token)
    assert cut > 300, "too few stand-ins cut by a soft break to test that case"
