"""Abstract cleaning, LaTeX to Unicode, trimming, author shortening, header-safe text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from newsletter.render.clean import (
    clean_abstract,
    latex_to_unicode,
    short_authors,
    short_name,
    trim_sentences,
)
from newsletter.text import one_line

LEFTOVER_LATEX = re.compile(r"\\[A-Za-z]+|\$[^$\s][^$]*\$|\^\{|_\{")


@pytest.mark.parametrize(
    ("latex", "readable"),
    [
        (r"$\mathcal{O}(n^3)$", "O(n³)"),
        (r"$\alpha$", "α"),
        (r"$n\geq 2$", "n≥ 2"),
        (r"$x^{2}$", "x²"),
        (r"$x_{i}$", "xᵢ"),
        (r"$10^{-3}$", "10⁻³"),
        (r"$\mathbb{R}^n$", "ℝⁿ"),
        (r"$M \in \RR^{d_1\times d_2}$", "M ∈ ℝ^(d₁×d₂)"),
        (r"$0 \le \alpha, \beta \le 1/8$", "0 ≤ α, β ≤ 1/8"),
        (r"$F=\frac{\alpha^2}{\beta}$", "F=α²/β"),
        (r"$1 / \sqrt{n}$", "1 / √n"),
        (r"$(X_1,X_2,\ldots)$", "(X₁,X₂,…)"),
        (r"$X\rightarrow Y$", "X→ Y"),
    ],
)
def test_latex_becomes_readable_unicode(latex: str, readable: str) -> None:
    assert latex_to_unicode(latex) == readable


def test_dollar_amounts_are_not_math() -> None:
    assert latex_to_unicode("Serving LLaMA-70B on $60 GPUs, not $70 ones") == (
        "Serving LLaMA-70B on $60 GPUs, not $70 ones"
    )


def test_abstract_prefix_and_hard_wraps_removed() -> None:
    raw = "Abstract: We study the\n  hardness of $k$-SAT\nunder 100\\% load.\n"
    assert clean_abstract(raw) == "We study the hardness of k-SAT under 100% load."


def _arxiv_summaries(folder: Path) -> list[str]:
    texts = []
    for path in sorted(folder.glob("arxiv_*.xml")):
        root = ET.parse(path).getroot()
        for element in root.iter():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag in ("summary", "description", "title") and element.text:
                texts.append(element.text)
    return texts


def test_no_latex_left_in_any_real_abstract(real_fixtures: Path) -> None:
    texts = _arxiv_summaries(real_fixtures)
    with_math = [t for t in texts if "$" in t]
    assert len(with_math) >= 10  # the fixtures do carry LaTeX: the test has teeth
    for text in with_math:
        cleaned = clean_abstract(text)
        assert not LEFTOVER_LATEX.search(cleaned), (text[:200], cleaned[:200])
        assert "\n" not in cleaned
        assert not cleaned.lower().startswith("abstract:")


def test_rss_abstract_prefix_removed(real_fixtures: Path) -> None:
    texts = [t for t in _arxiv_summaries(real_fixtures) if "Abstract:" in t]
    assert texts
    for text in texts:
        as_announced = "Abstract:" + text.split("Abstract:", 1)[1]
        cleaned = clean_abstract(as_announced)
        assert not cleaned.startswith("Abstract")
        assert cleaned == clean_abstract(as_announced.removeprefix("Abstract:"))


def test_trim_cuts_at_a_sentence_boundary() -> None:
    text = (
        "We propose a method, e.g. for graphs. It is fast in Fig. 2 and accurate. "
        "It also scales to 3.5 billion edges. A final sentence closes it."
    )
    trimmed = trim_sentences(text, 100)
    assert len(trimmed) <= 100
    assert text.startswith(trimmed)
    assert trimmed.endswith(".")
    assert trimmed == "We propose a method, e.g. for graphs. It is fast in Fig. 2 and accurate."


def test_trim_keeps_short_text_and_falls_back_to_words() -> None:
    assert trim_sentences("Short.", 100) == "Short."
    long_sentence = "word " * 60
    trimmed = trim_sentences(long_sentence.strip(), 50)
    assert len(trimmed) <= 50
    assert trimmed.endswith("…")


def test_author_shortening() -> None:
    assert short_name("Ashish Vaswani") == "A. Vaswani"
    assert short_name("Jean-Pierre Serre") == "J.-P. Serre"
    assert short_name("Ludwig van Beethoven") == "L. van Beethoven"
    assert short_name("Plato") == "Plato"
    names = [f"Given{i} Family{i}" for i in range(15)]
    assert short_authors(names) == "G. Family0, G. Family1, G. Family2, … +12"
    assert short_authors(names[:4]) == "G. Family0, G. Family1, G. Family2, G. Family3"


def test_one_line_strips_control_characters_and_caps_length() -> None:
    assert one_line("a\r\nBcc: x@y\u2028z") == "a Bcc: x@y z"
    capped = one_line("word " * 100, 40)
    assert len(capped) <= 40
    assert capped.endswith("…")
