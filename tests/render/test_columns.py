"""Long fixed pieces of a line encoded once per column (``render.columns``): the same
bytes as ``b2a_qp`` of the whole text, whatever the values around them."""

from __future__ import annotations

import random

from newsletter.render.columns import LONG, Columns
from tests.render.test_skeleton import QP_PIECES, qp, random_text


def test_pieces_encode_as_their_joined_text_at_every_column() -> None:
    rng = random.Random(2045)
    columns = Columns()
    fixed = [
        "<td>" * 30,
        "y" * LONG,
        " " * LONG + "z",
        "=" * 40 + "é" * 60,
        "." + "a" * 120 + "\n",
        "b" * 100 + " \n" + "c" * 100,
        "\n" + "d" * 150,
        "e" * 99 + "\n.\n",
    ]
    values = [*QP_PIECES, "", "\n", " ", "a" * 75, "x\n", "\nx", ". "]
    for _ in range(6000):  # the same fixed pieces met at every column, kept and reused
        pieces = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.5:
                pieces.append((rng.choice(fixed), True))
            else:
                text = rng.choice(values) + rng.choice(["", random_text(rng, 3)])
                pieces.append((text, rng.random() < 0.2))
        text = "".join(t for t, _ in pieces)
        if "\r" not in text:
            assert columns.encode(pieces) == qp(text), pieces
