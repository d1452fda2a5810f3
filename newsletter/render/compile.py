"""Templates: found, checked and compiled ONCE, before anything is sent.

An email template is MJML with Jinja2 inside (``digest.mjml.j2``). Compiling it is:

1. read it, pasting every ``<mj-include path="_x.mjml.j2"/>`` in place (textually, so that
   included sections keep the body's width; mrml's own include loses it);
2. check the Jinja syntax of every file on its own, and the MJML tag nesting, so that a
   mistake is reported as ``TemplateError(path, line)`` in the file the operator edited;
3. compile the MJML to HTML once with mjml-python, the Jinja tags passing through as text;
4. compile the resulting HTML as one Jinja template (autoescape on).

Per subscriber only step 4's template is rendered. Plain-text templates (``*.txt.j2``) and
web pages (``*.html.j2``, ``*.xml.j2``) are ordinary Jinja templates.

A template in ``settings.templates_dir`` wins over the built-in one of the same name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from mjml import mjml2html

import newsletter
from newsletter.errors import TemplateError

log = logging.getLogger(__name__)

_JINJA_WORDWRAP = jinja2.filters.do_wordwrap
_WRAPPED: dict[tuple[str, int, bool, str, bool], str] = {}
MAX_WRAPPED = 4096

# newsletter/templates links to the top-level templates/ folder, and ships inside the wheel.
BUILTIN_TEMPLATES = Path(newsletter.__file__).resolve().parent / "templates"
_INCLUDE = re.compile(r"<mj-include\s+path=\"([^\"]+)\"\s*/>")
_MJ_TAG = re.compile(r"<(/?)(mj-[a-z-]+)\b[^>]*?(/?)>")
# Elements whose content MJML does not parse as elements (our markup lives inside them).
_ENDING_TAGS = {"mj-text", "mj-button", "mj-raw", "mj-style", "mj-title", "mj-preview", "mj-table"}
KNOWN_MJ_TAGS = {
    "mj-accordion", "mj-accordion-element", "mj-accordion-text", "mj-accordion-title",
    "mj-all", "mj-attributes", "mj-body", "mj-breakpoint", "mj-button", "mj-carousel",
    "mj-carousel-image", "mj-class", "mj-column", "mj-divider", "mj-font", "mj-group",
    "mj-head", "mj-hero", "mj-image", "mj-include", "mj-navbar", "mj-navbar-link",
    "mj-preview", "mj-raw", "mj-section", "mj-social", "mj-social-element", "mj-spacer",
    "mj-style", "mj-table", "mj-text", "mj-title", "mj-wrapper",
}  # fmt: skip


def template_dirs(override: Path | None) -> list[Path]:
    """Where templates are looked up, first match wins."""
    return [override, BUILTIN_TEMPLATES] if override is not None else [BUILTIN_TEMPLATES]


@dataclass(frozen=True, slots=True)
class Source:
    """A template's text and the file it came from (for errors with file and line)."""

    name: str
    path: Path
    text: str


def find_template(dirs: Sequence[Path], name: str) -> Source:
    """The template ``name`` from the first of ``dirs`` that has it (operator overrides
    first); ``TemplateError`` when none does."""
    for folder in dirs:
        path = folder / name
        if path.is_file():
            try:
                return Source(name, path, path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise TemplateError(str(path), None, f"cannot read: {exc}") from exc
    raise TemplateError(name, None, f"not found in {', '.join(str(d) for d in dirs)}")


def jinja_environment(dirs: Sequence[Path], *, autoescape: bool) -> jinja2.Environment:
    """A Jinja2 environment over ``dirs``, strict about undefined names, escaping HTML when
    ``autoescape``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=autoescape,  # noqa: S701 (False only for the plain-text part)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wordwrap"] = _wordwrap_once
    return env


@jinja2.pass_environment
def _wordwrap_once(
    environment: jinja2.Environment,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """Jinja's ``wordwrap``, each text wrapped once (the footer's reply hint is the same in
    every email): the same output, ``textwrap`` run once per distinct text."""
    wrap = environment.newline_sequence if wrapstring is None else wrapstring
    text = str(s)
    found = _ADDRESS.search(text)
    if found is not None and found.end() - found.start() < width and _STAND_IN not in text:
        # A footer that names its reader's address: wrapped once per shape, the address
        # standing in as as many characters of one chunk (textwrap splits chunks only
        # at its white space and at hyphens, neither of which the stand-in or the
        # address has; no line is cut inside a chunk shorter than ``width``).
        size = found.end() - found.start()
        shape = text[: found.start()] + _STAND_IN * size + text[found.end() :]
        done = _wrapped(environment, (shape, width, break_long_words, wrap, break_on_hyphens))
        at = done.find(_STAND_IN * size)
        if at >= 0 and done.count(_STAND_IN) == size:
            return done[:at] + found.group() + done[at + size :]
    return _wrapped(environment, (text, width, break_long_words, wrap, break_on_hyphens))


# A whole chunk for textwrap (between its white space, ASCII only, or the ends) without a
# hyphen or a line boundary of ``str.splitlines`` (Jinja wraps each line alone).
_ADDRESS = re.compile(
    r"(?<![^\t\n\x0b\x0c\r ])"
    r"[^\t\n\x0b\x0c\r \-\x1c\x1d\x1e\x85\u2028\u2029]+@[^\t\n\x0b\x0c\r \-\x1c\x1d\x1e\x85\u2028\u2029]+"
    r"(?![^\t\n\x0b\x0c\r ])"
)
_STAND_IN = "\ue000"  # a private-use character: in no address and no list's text


def _wrapped(environment: jinja2.Environment, key: tuple[str, int, bool, str, bool]) -> str:
    done = _WRAPPED.get(key)
    if done is None:
        done = _greedy(key[0], key[1], key[3])
        if done is None:
            done = str(_JINJA_WORDWRAP(environment, *key))
        if len(_WRAPPED) < MAX_WRAPPED:
            _WRAPPED[key] = done
    return done


# Words of printable ASCII (or the address stand-in) without a hyphen, one space apart.
_SIMPLE = re.compile("[!-,.-~\ue000]+(?: [!-,.-~\ue000]+)*")


def _greedy(text: str, width: int, wrap: str) -> str | None:
    """What ``textwrap.wrap`` (as Jinja's ``wordwrap`` calls it) gives for a text of
    ``_SIMPLE`` words no longer than ``width``, joined by ``wrap``; else ``None``. Its
    chunks are then the words and the single spaces, and it fills each line with as many
    words as fit, dropping the space at a break (``TextWrapper._wrap_chunks``); a tenth
    of its time, for footers whose topics are new (tested against Jinja's)."""
    if width < 1 or _SIMPLE.fullmatch(text) is None:
        return None
    words = text.split(" ")
    if max(map(len, words)) > width:
        return None
    lines = []
    line = words[0]
    for word in words[1:]:
        if len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return wrap.join(lines)


def check_jinja(env: jinja2.Environment, source: Source) -> None:
    """Parse ``source``; ``TemplateError`` with its file and line when it does not compile."""
    try:
        env.parse(source.text, source.name, str(source.path))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(str(source.path), exc.lineno, exc.message or "syntax error") from exc


def check_mjml_nesting(source: Source) -> None:
    """Unknown ``mj-`` tags and unbalanced ones, with the line, which mrml does not give."""
    stack: list[tuple[str, int]] = []
    for match in _MJ_TAG.finditer(source.text):
        closing, tag, self_closing = match.group(1), match.group(2), match.group(3)
        line = source.text.count("\n", 0, match.start()) + 1
        inside_ending = bool(stack) and stack[-1][0] in _ENDING_TAGS
        if tag not in KNOWN_MJ_TAGS:
            raise TemplateError(str(source.path), line, f"unknown MJML tag <{tag}>")
        if inside_ending and not (closing and stack[-1][0] == tag):
            raise TemplateError(
                str(source.path), line, f"<{tag}> inside <{stack[-1][0]}> (line {stack[-1][1]})"
            )
        if self_closing:
            continue
        if not closing:
            stack.append((tag, line))
        elif not stack or stack[-1][0] != tag:
            opened = f"<{stack[-1][0]}> opened on line {stack[-1][1]}" if stack else "nothing open"
            raise TemplateError(str(source.path), line, f"</{tag}> does not close ({opened})")
        else:
            stack.pop()
    if stack:
        tag, line = stack[-1]
        raise TemplateError(str(source.path), line, f"<{tag}> is never closed")


def _expand_includes(
    dirs: Sequence[Path], source: Source, env: jinja2.Environment, depth: int
) -> str:
    if depth > 5:
        raise TemplateError(str(source.path), None, "mj-include nested too deeply")

    def paste(match: re.Match[str]) -> str:
        included = find_template(dirs, match.group(1))
        check_jinja(env, included)
        check_mjml_nesting(included)
        return _expand_includes(dirs, included, env, depth + 1)

    return _INCLUDE.sub(paste, source.text)


def compile_mjml(dirs: Sequence[Path], name: str, env: jinja2.Environment) -> jinja2.Template:
    """``name`` (an ``.mjml.j2`` file) -> one compiled Jinja template of the email's HTML."""
    return mjml_template(dirs, name, env)[0]


def mjml_template(
    dirs: Sequence[Path], name: str, env: jinja2.Environment
) -> tuple[jinja2.Template, str]:
    """``compile_mjml``, with the template's Jinja source (the HTML after MJML, Jinja tags
    still in it), which ``render.assemble`` splits."""
    source = find_template(dirs, name)
    check_jinja(env, source)
    check_mjml_nesting(source)
    mjml = _expand_includes(dirs, source, env, 0)
    try:
        html = mjml2html(mjml, disable_comments=True, fonts={})
    except ValueError as exc:
        raise TemplateError(str(source.path), None, f"MJML: {exc}") from exc
    try:
        template = env.from_string(html)
    except jinja2.TemplateSyntaxError as exc:  # a tag split across two files
        raise TemplateError(str(source.path), None, f"after MJML: {exc.message}") from exc
    log.debug("compiled %s (%d bytes of HTML)", source.path, len(html))
    return template, html


def load_jinja(env: jinja2.Environment, dirs: Sequence[Path], name: str) -> jinja2.Template:
    """The checked Jinja2 template ``name`` from ``dirs``."""
    source = find_template(dirs, name)
    check_jinja(env, source)
    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:  # in an extended or included file
        raise TemplateError(
            exc.filename or name, exc.lineno, exc.message or "syntax error"
        ) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(str(source.path), None, f"missing template {exc.name}") from exc
