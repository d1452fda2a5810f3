"""One email as RFC 5322 bytes (CRLF): headers plus multipart/alternative (text, then HTML).

Both parts are UTF-8, quoted-printable, encoded with ``binascii.b2a_qp`` (C). The headers
that carry untrusted or non-ASCII text (From, To, Subject) go through the ``email``
package's policy, so they are encoded and folded, never injected; callers still pass them
through ``clean.one_line`` first so that a subject stays one readable line. Headers whose
values we build (ids, dates, URLs) are checked to be one ASCII line and written as is. The
``email`` generator did the same job in ~8 ms per 30-paper digest; this takes well under 1 ms.

The policy folds only above 998 characters: with the default 78, the ``email`` package
turns a long URL in ``List-Unsubscribe`` into RFC 2047 encoded words, which mail clients
do not read as a URL. Subject and display names with non-ASCII text are folded by
``headers.Rfc2047Policy``: encoded-words of at most 75 characters on lines of at most 76.

Speed (one email per subscriber, tens of thousands per run): ``QpCache`` encodes line by
line and remembers the lines every email of an edition shares (paper cards, header,
footer), which is byte-for-byte what ``b2a_qp`` gives for the whole text (quoted-printable
works per line); an address of plain ASCII words skips the ``email`` policy, whose output
for it is the same ``Name <local@domain>``.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from email.headerregistry import Address
from email.utils import format_datetime, parseaddr

from newsletter import addresses
from newsletter.errors import DeliveryError
from newsletter.render.clean import short_line
from newsletter.render.headers import SMTP_POLICY, fold_address, fold_unstructured
from newsletter.text import one_line

POLICY = SMTP_POLICY.clone(max_line_length=998)


def address(email: str, name: str = "") -> Address:
    """A header-safe address; a malformed one is a ``DeliveryError`` naming it."""
    try:
        addr = addresses.normalize(email)
    except ValueError as exc:
        raise DeliveryError(one_line(email, 80), f"not a valid email address ({exc})") from None
    local, _, domain = addr.rpartition("@")
    try:
        return Address(display_name=one_line(name, 80), username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise DeliveryError(one_line(email, 80), f"not a valid email address ({exc})") from None


def stored_address(email: str, name: str = "") -> Address:
    """A subscriber's address as the store holds it, as a header-safe ``Address``.

    Every write path stores ``addresses.normalize``'s form (``subscribers.add``,
    ``add_many``, the web form), so a stored address that is a plain ASCII dot-atom
    ``local@domain.tld`` in that form (lower-case domain, RFC 5321's lengths) is used as it
    is, without running the validator again for each email (about 7 % of a digest's
    render); anything else goes through ``address`` (validated, ``DeliveryError``)."""
    local, _, domain = email.rpartition("@")
    if (
        len(email) <= addresses.MAX_ADDRESS_OCTETS
        and len(local) <= addresses.MAX_LOCAL_OCTETS
        and "." in domain
        and domain.islower()
        and _PLAIN_ADDR.fullmatch(email)
    ):
        return Address(display_name=short_line(name, 80), username=local, domain=domain)
    return address(email, name)


def sender_address(from_address: str) -> Address:
    """The ``From`` setting (``Name <a@b>``) as a header-safe ``Address``;
    ``DeliveryError`` when it is not valid."""
    name, addr = parseaddr(from_address)
    return address(addr, name)


# A display name of ASCII words and a dot-atom address: written as is by the policy too.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*")
_PLAIN_ADDR = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


def _qp(content: str) -> bytes:
    data = content.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


class QpCache:
    """Quoted-printable with CRLF, line by line, remembering lines seen in two emails.

    Lines with a subscriber's own links are seen once and never kept, so the cache holds
    what an edition's emails share (at most ``max_lines`` of them).

    The bounds are the sender's memory (issue 18): a sender keeps its cache for the whole
    send, and lines only a few readers share (a name, a set of topics) keep coming. On the
    lines of 53,237 real digests (one sender of a 100,000 send, replayed), 20,000 lines
    and 200,000 hashes kept 13,855 lines (11.2 MB of text, held twice: the line and its
    encoding) and up to 200,000 hashes: about 38 MB by their sizes; 5,000 and 50,000 about
    12 MB (a 100,000 send: peak PSS of the two senders 259 -> 207 MB). Still
    0.61 instead of 0.62 of the encoded bytes come from the cache.
    """

    def __init__(self, max_lines: int = 5_000, max_seen: int = 50_000) -> None:
        self.max_lines = max_lines
        self.max_seen = max_seen
        self._lines: dict[bytes, bytes] = {}
        self._seen: set[int] = set()

    def clear(self) -> None:
        """Forget the lines seen (a new edition)."""
        self._lines.clear()
        self._seen.clear()

    def encode(self, content: str) -> bytes:
        """``content`` as quoted-printable with CRLF line endings, byte for byte what
        ``binascii.b2a_qp`` gives for the whole text."""
        data = content.replace("\r\n", "\n").encode("utf-8")
        if b"\r" in data:  # a stray CR changes how b2a_qp reads line ends: the plain way
            return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")
        lines = data.split(b"\n")
        last = lines.pop()  # the text after the last line end: no line end of its own
        known = self._lines.get
        out: list[bytes | None] = [known(line) for line in lines]  # lines emails share
        if None in out:
            for index, encoded in enumerate(out):
                if encoded is None:
                    out[index] = self._encode_line(lines[index])
        out.append(binascii.b2a_qp(last, istext=True).replace(b"\n", b"\r\n") if last else b"")
        return b"\r\n".join(out)  # type: ignore[arg-type]  # every None replaced above

    def _encode_line(self, line: bytes) -> bytes:
        """One line (not the last) encoded as the whole text would encode it: followed by
        its line end, which decides where soft breaks and trailing-space escapes go. Kept
        from the second time it is seen."""
        encoded = binascii.b2a_qp(line + b"\n", istext=True)[:-1].replace(b"\n", b"\r\n")
        key = hash(line)
        if key not in self._seen:
            if len(self._seen) >= self.max_seen:
                self._seen.clear()
            self._seen.add(key)
        elif len(self._lines) < self.max_lines:
            self._lines[line] = encoded
        return encoded


def _header(name: str, value: object) -> bytes:
    """One header through the ``email`` policy (encoded words, folding, no CR/LF)."""
    if isinstance(value, Address):
        if "=?" in value.display_name and value.addr_spec.isascii():
            # ``header_factory`` would decode it: a name typed as "=?utf-8?b?...?=" must
            # reach the reader as typed, not as what it decodes to.
            return fold_address(name, value.display_name, value.addr_spec)
        plain = _plain_address(value)
        if plain is not None:
            return f"{name}: {plain}\r\n".encode("ascii")
    elif isinstance(value, str):
        return _text_header(name, value)
    return POLICY.fold_binary(name, POLICY.header_factory(name, value))


@functools.lru_cache(maxsize=4096)
def _text_header(name: str, value: str) -> bytes:
    """Subjects repeat across a list's emails: each is encoded once. Non-ASCII text, and
    text that looks like an encoded-word (which ``header_factory`` would decode), go to
    ``fold_unstructured`` as they are."""
    if not value.isascii() or "=?" in value:
        return fold_unstructured(name, value)
    return POLICY.fold_binary(name, POLICY.header_factory(name, value))


@functools.lru_cache(maxsize=64)
def _date_header(when: dt.datetime) -> bytes:
    """The Date header (RFC 5322 §3.3); a send dates many emails alike."""
    return ascii_header("Date", format_datetime(when))


def _plain_address(value: Address) -> str | None:
    """``Name <addr>`` when the policy would write exactly that (ASCII words only)."""
    name, spec = value.display_name, value.addr_spec
    if len(name) + len(spec) > 900 or not _PLAIN_ADDR.fullmatch(spec):
        return None
    if not name:
        return spec
    return f"{name} <{spec}>" if _PLAIN_NAME.fullmatch(name) else None


def ascii_header(name: str, value: str) -> bytes:
    """A header whose value we built ourselves (URLs, ids, dates): checked, written as is."""
    if not value.isascii() or "\r" in value or "\n" in value or len(value) > 990:
        return _header(name, one_line(value, 990))
    return f"{name}: {value}\r\n".encode("ascii")


def _head(
    sender: Address,
    to: Address,
    subject: str,
    msg_id: str,
    date: dt.datetime,
    extra_headers: Mapping[str, str] | None,
) -> list[bytes]:
    """The header block every message shares, each value through the header-safety path:
    addresses and the subject through the ``email`` policy, our own values checked."""
    when = date if date.tzinfo else date.replace(tzinfo=dt.UTC)
    head = [
        _header("From", sender),
        _header("To", to),
        _header("Subject", short_line(subject, 200)),
        _date_header(when),
        ascii_header("Message-ID", msg_id),
        ascii_header("MIME-Version", "1.0"),
    ]
    head += [ascii_header(name, value) for name, value in (extra_headers or {}).items()]
    return head


_PART_HEAD = (
    'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n'
)


def build_message(
    *,
    sender: Address,
    to: Address,
    subject: str,
    msg_id: str,
    date: dt.datetime,
    text: str,
    html: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    encode: Callable[[str], bytes] = _qp,
) -> bytes:
    """One email as the exact bytes to send (and DKIM-sign), CRLF line endings throughout
    (RFC 5322 §2.1): multipart/alternative (text, then HTML; RFC 2046 §5.1.4) when ``html``
    is given (digests), text/plain otherwise (replies, notices, operator alerts).

    Every header goes through ``_head`` (the one header-safety path). ``encode``: the
    quoted-printable encoder (``QpCache(...).encode`` for many emails). ``extra_headers``:
    values we built (List-Unsubscribe, ids), checked by ``ascii_header``."""
    head = _head(sender, to, subject, msg_id, date, extra_headers)
    if html is None:
        return b"".join([*head, _PART_HEAD.format("plain").encode("ascii"), b"\r\n", encode(text)])
    boundary = "==nl-" + hashlib.sha256(msg_id.encode()).hexdigest()[:28]
    head.append(ascii_header("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    part_head = _PART_HEAD + "\r\n"
    return b"".join(
        [
            *head,
            b"\r\nThis is a multipart message in MIME format.\r\n",
            delimiter,
            part_head.format("plain").encode("ascii"),
            encode(text),
            delimiter,
            part_head.format("html").encode("ascii"),
            encode(html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        ]
    )
