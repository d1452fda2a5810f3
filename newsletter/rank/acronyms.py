"""Abbreviations and their long forms: mined from abstracts, plus the field's common ones.

Mining follows Schwartz & Hearst (2003), "A simple algorithm for identifying abbreviation
definitions in biomedical text": in ``long form (SF)`` the short form ``SF`` (2–10
characters, a letter first, not all lower-case) is defined by the shortest run of at most
``min(|SF| + 5, 2 |SF|)`` words before the parenthesis whose letters contain the short
form's characters in order, the first one starting a word. A plural short form ("LLMs")
defines its singular. Mined definitions take precedence over the built-in list.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from newsletter.rank.text import stems

# The field's common abbreviations (machine learning, NLP, vision), lower-case long forms.
COMMON: Mapping[str, str] = {
    "ASR": "automatic speech recognition",
    "CL": "continual learning",
    "CNN": "convolutional neural network",
    "CoT": "chain of thought",
    "DA": "domain adaptation",
    "DPO": "direct preference optimization",
    "GAN": "generative adversarial network",
    "GNN": "graph neural network",
    "ICL": "in-context learning",
    "KD": "knowledge distillation",
    "LLM": "large language model",
    "LoRA": "low-rank adaptation",
    "MLLM": "multimodal large language model",
    "MoE": "mixture of experts",
    "NeRF": "neural radiance field",
    "NLP": "natural language processing",
    "OOD": "out-of-distribution",
    "PEFT": "parameter-efficient fine-tuning",
    "RAG": "retrieval-augmented generation",
    "RL": "reinforcement learning",
    "RLHF": "reinforcement learning from human feedback",
    "SFDA": "source-free domain adaptation",
    "SFT": "supervised fine-tuning",
    "TTA": "test-time adaptation",
    "UDA": "unsupervised domain adaptation",
    "VAE": "variational autoencoder",
    "ViT": "vision transformer",
    "VLA": "vision-language-action",
    "VLM": "vision-language model",
}

_DEFINITION = re.compile(r"([^()]{1,200}?)\s*\(\s*([A-Za-z][A-Za-z0-9\-]{1,9})\s*[;,)]")


def _long_form(short: str, candidate: str) -> str | None:
    """Schwartz–Hearst backward match of ``short`` in the words ``candidate``."""
    s, i = len(short) - 1, len(candidate) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while i >= 0 and (
            candidate[i].lower() != c or (s == 0 and i > 0 and candidate[i - 1].isalnum())
        ):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    start = candidate.rfind(" ", 0, i + 1) + 1
    found = candidate[start:].strip()
    if len(found) <= len(short) or (" " not in found and "-" not in found):
        return None
    return found


def mine(texts: Iterable[str]) -> dict[str, str]:
    """``{short form: long form (lower-case)}`` defined in ``texts`` (the most frequent
    definition of each short form)."""
    seen: dict[str, Counter[str]] = {}
    for text in texts:
        for match in _DEFINITION.finditer(text):
            before, short = match.group(1), match.group(2)
            if short.islower() or not any(ch.isalpha() for ch in short):
                continue
            words = before.split()
            limit = min(len(short) + 5, 2 * len(short))
            found = _long_form(short, " ".join(words[-limit:]))
            if found is None:
                continue
            if short.endswith("s") and short[:-1].isupper():
                short = short[:-1]
            seen.setdefault(short, Counter())[found.lower()] += 1
    return {short: counts.most_common(1)[0][0] for short, counts in seen.items()}


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(s for s in stems(phrase) if s is not None)


class Abbreviations:
    """Short and long forms, looked up either way by stems (``"PEFT"`` <->
    ``"parameter-efficient fine-tuning"``, also ``"parameter efficient fine tuning"``)."""

    def __init__(self, mined: Mapping[str, str], common: Mapping[str, str] = COMMON) -> None:
        merged = {**common, **mined}
        self._other: dict[tuple[str, ...], list[str]] = {}
        for short, long in merged.items():
            self._other.setdefault(_key(short), []).append(long)
            self._other.setdefault(_key(long), []).append(short)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Abbreviations:
        """Definitions mined from ``texts`` over the built-in list."""
        return cls(mine(texts))

    def forms(self, phrase: str) -> tuple[str, ...]:
        """The other ways of writing ``phrase`` (empty when it is not a known abbreviation
        or long form)."""
        return tuple(dict.fromkeys(self._other.get(_key(phrase), ())))
