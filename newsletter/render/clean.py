"""Feed text made readable in an email: pure string functions, no I/O.

- ``clean_abstract``: arXiv's ``Abstract:`` prefix and hard wraps removed, LaTeX to Unicode.
- ``latex_to_unicode``: ``$\\mathcal{O}(n^3)$`` -> ``O(n³)``; never leaves ``$...$`` behind.
- ``trim_sentences``: cut long text at a sentence boundary.
- ``short_authors``: "A. Author, B. Author, C. Author, … +12".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from newsletter.text import one_line

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}  # fmt: skip
SYMBOLS = {
    "times": "×", "cdot": "·", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠",
    "ne": "≠", "approx": "≈", "sim": "∼", "simeq": "≃", "equiv": "≡", "propto": "∝",
    "infty": "∞", "pm": "±", "mp": "∓", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftrightarrow": "⇔", "mapsto": "↦", "in": "∈", "notin": "∉",
    "subset": "⊂", "subseteq": "⊆", "cup": "∪", "cap": "∩", "forall": "∀", "exists": "∃",
    "sum": "Σ", "prod": "∏", "int": "∫", "partial": "∂", "nabla": "∇", "ell": "ℓ",
    "ldots": "…", "cdots": "⋯", "dots": "…", "perp": "⊥", "mid": "|", "circ": "∘",
    "log": "log", "exp": "exp", "ln": "ln", "min": "min", "max": "max", "sin": "sin",
    "cos": "cos", "lim": "lim", "sup": "sup", "inf": "inf", "det": "det", "top": "⊤",
    "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊",
    "rfloor": "⌋", "neg": "¬", "wedge": "∧", "vee": "∨", "oplus": "⊕", "otimes": "⊗",
    "star": "⋆", "ast": "∗", "dagger": "†", "prime": "′", "emptyset": "∅", "hbar": "ℏ",
    "RR": "ℝ", "NN": "ℕ", "ZZ": "ℤ", "QQ": "ℚ", "CC": "ℂ", "R": "ℝ", "N": "ℕ",
    "quad": " ", "qquad": " ", "left": "", "right": "", "big": "", "Big": "",
    "bigg": "", "displaystyle": "", "textstyle": "", "limits": "", "bigl": "", "bigr": "",
    "Bigl": "", "Bigr": "", "biggl": "", "biggr": "", "middle": "", "nolimits": "",
}  # fmt: skip
DOUBLE_STRUCK = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "P": "ℙ", "E": "𝔼"}
SUPERSCRIPT = dict(zip("0123456789+-=()niTtk*", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵀᵗᵏ*", strict=True))
SUBSCRIPT = dict(
    zip("0123456789+-=()aeijknmoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₙₘₒₚᵣₛₜᵤᵥₓ", strict=True)
)
TEXT_ESCAPES = {r"\%": "%", r"\&": "&", r"\_": "_", r"\#": "#", r"\$": "$", "~": " "}
# Commands whose braced argument is kept as plain text.
KEEP_ARGUMENT = (
    "mathcal|mathrm|mathbf|mathit|mathsf|mathtt|mathscr|mathfrak|boldsymbol|bm|text|textrm|"
    "textbf|textit|texttt|textsc|emph|operatorname|hat|bar|tilde|vec|widehat|widetilde|"
    "overline|underline|mbox|textnormal"
)

# Pandoc's rule: "$" opens before a non-space and closes after one, not before a digit,
# so "costs $60 and $70" stays text.
_MATH = re.compile(
    r"\$\$(.+?)\$\$|\$(?!\s)((?:[^$\\]|\\.)+?)(?<!\s)\$(?!\d)|\\\((.+?)\\\)", re.DOTALL
)
_BRACED = r"\{((?:[^{}]|\{[^{}]*\})*)\}"
_MATHBB = re.compile(r"\\mathbb\s*\{?\s*([A-Za-z])\s*\}?")
_KEEP = re.compile(rf"\\(?:{KEEP_ARGUMENT})\s*{_BRACED}")
_FRAC = re.compile(rf"\\[dt]?frac\s*{_BRACED}\s*{_BRACED}")
_SQRT = re.compile(rf"\\sqrt\s*{_BRACED}")
_SCRIPT = re.compile(rf"([\^_])\s*(?:{_BRACED}|(\\[A-Za-z]+|[A-Za-z0-9*+-]))")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_SPACING = re.compile(r"\\[,;:! ]")
_SPACE = re.compile(r"\s+")
_PREFIX = re.compile(r"^\s*abstract\s*[:.\-—]\s*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?][)\"”’]?(?=\s+[A-Z0-9(“\"\[])")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "etc.", "vs.", "Fig.", "Eq.", "cf.", "resp.", "approx.")


def _script(match: re.Match[str]) -> str:
    kind, braced, single = match.group(1), match.group(2), match.group(3)
    body = _math((braced if braced is not None else single) or "")
    body = re.sub(r"\s*([×·+=])\s*", r"\1", body)
    table = SUPERSCRIPT if kind == "^" else SUBSCRIPT
    if body and all(ch in table for ch in body):
        return "".join(table[ch] for ch in body)
    if len(body) == 1:
        return ("^" if kind == "^" else "_") + body
    return ("^" if kind == "^" else "_") + f"({body})"


def _math(text: str) -> str:
    for _ in range(3):  # nested arguments: \frac{\sqrt{x}}{2}
        text = _MATHBB.sub(lambda m: DOUBLE_STRUCK.get(m.group(1), m.group(1)), text)
        text = _KEEP.sub(lambda m: m.group(1), text)
        text = _FRAC.sub(lambda m: f"{_group(m.group(1))}/{_group(m.group(2))}", text)
        text = _SQRT.sub(lambda m: "√" + _group(m.group(1)), text)
    text = _SPACING.sub(lambda m: " " if m.group(0) != r"\!" else "", text)
    text = _SCRIPT.sub(_script, text)
    for escape, plain in TEXT_ESCAPES.items():
        text = text.replace(escape, plain)
    text = _COMMAND.sub(_command, text)
    text = text.replace("{", "").replace("}", "")
    return _SPACE.sub(" ", text).strip()


def _command(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in GREEK:
        return GREEK[name]
    if name in SYMBOLS:
        return SYMBOLS[name]
    return name


def _group(text: str) -> str:
    """A fraction part, parenthesised when it is more than one term: ``a+b`` -> ``(a+b)``."""
    text = _math(text)
    return f"({text})" if re.search(r"[\s+\-−*/=,<>]", text) else text


def latex_to_unicode(text: str) -> str:
    """Turn inline LaTeX into readable Unicode; text outside math keeps its words."""

    def math(match: re.Match[str]) -> str:
        return _math(match.group(1) or match.group(2) or match.group(3) or "")

    text = _MATH.sub(math, text)
    if "\\" in text:  # commands outside $...$: \emph{x}, \textbf{y}, 100\%
        text = _KEEP.sub(lambda m: m.group(1), text)
        for escape, plain in TEXT_ESCAPES.items():
            if escape.startswith("\\"):
                text = text.replace(escape, plain)
        text = _COMMAND.sub(lambda m: GREEK.get(m.group(1), m.group(1)), text)
    text = text.replace("``", "“").replace("''", "”")
    return text


@functools.lru_cache(maxsize=8192)
def short_line(text: str, limit: int) -> str:
    """``text.one_line(text, limit)``, remembered: topics, section titles, list names and
    subjects repeat across a list's readers, and each email asks for a dozen."""
    return one_line(text, limit)


@functools.lru_cache(maxsize=4096)
def clean_title(title: str) -> str:
    """``clean_text(title)``, remembered (the subject and preheader of every email clean
    the title of its first paper)."""
    return clean_text(title)


def clean_text(text: str) -> str:
    """One line of readable text: wraps joined, LaTeX turned into Unicode."""
    return _SPACE.sub(" ", latex_to_unicode(_SPACE.sub(" ", text))).strip()


def clean_abstract(text: str) -> str:
    """An arXiv abstract made readable: ``Abstract:`` prefix and hard wraps removed, LaTeX
    to Unicode (``latex_to_unicode``)."""
    return clean_text(_PREFIX.sub("", text.strip()))


def trim_sentences(text: str, limit: int) -> str:
    """``text`` if short enough, else whole sentences up to ``limit`` characters.

    Falls back to a word boundary plus "…" when the first sentence alone is too long.
    """
    if len(text) <= limit:
        return text
    cut = 0
    for match in _SENTENCE_END.finditer(text, 0, limit + 1):
        end = match.end()
        if any(text[:end].endswith(abbr) for abbr in _ABBREVIATIONS):
            continue
        cut = end
    if cut >= limit // 3:
        return text[:cut]
    words = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-–—(")
    return words + "…"


_PARTICLES = {"van", "von", "de", "da", "del", "der", "di", "la", "le", "du", "dos", "den", "ter"}


def short_name(name: str) -> str:
    """``Ashish Vaswani`` -> ``A. Vaswani``; ``Ludwig van Beethoven`` -> ``L. van Beethoven``."""
    parts = _SPACE.sub(" ", name).strip().split(" ")
    if len(parts) < 2:
        return parts[0]
    surname_start = len(parts) - 1
    while surname_start > 1 and parts[surname_start - 1].lower() in _PARTICLES:
        surname_start -= 1
    initials = []
    for given in parts[:surname_start]:
        pieces = [p for p in given.split("-") if p]
        if not pieces or not pieces[0][0].isalpha():
            initials.append(given)
            continue
        initials.append("-".join(p[0].upper() + "." for p in pieces))
    return " ".join([*initials, *parts[surname_start:]])


def short_authors(authors: Sequence[str], shown: int = 3) -> str:
    """ "A. Author, B. Author, C. Author, … +12" (all names when at most ``shown + 1``)."""
    names = [short_name(clean_text(a)) for a in authors if a.strip()]
    if len(names) <= shown + 1:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f", … +{len(names) - shown}"
