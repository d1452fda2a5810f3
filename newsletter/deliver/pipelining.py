"""ESMTP PIPELINING (RFC 2920) on an aiosmtplib connection: MAIL, RCPT and DATA in one write.

aiosmtplib (5.x) has no pipelining: its protocol keeps one reply waiter and drops what
arrives while nobody waits, so several commands written together lose their replies.
``adopt`` turns a connected client's protocol into a ``PipeliningProtocol``, which keeps
a queue of reply futures filled in order (RFC 2920 section 3.1: replies come in the
order of the commands) and otherwise behaves exactly as aiosmtplib's. No other Python
SMTP client offers PIPELINING; this is the small part the library lacks, and
``bench/send_pipelining.py`` keeps the measurement that justifies it.

RFC 2920 section 3.1: MAIL and RCPT may appear anywhere in a group, DATA only last; the
message content goes after the 354, in its own write. Section 3.2 (client): when DATA
was accepted although no recipient was, the client sends a lone ``.`` (an empty
message, which the server must not deliver).
"""

from __future__ import annotations

import asyncio
import collections
import re
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import MAX_RESPONSE_LENGTH, SMTPProtocol
from aiosmtplib.response import SMTPResponse

from newsletter.models import Message

FINAL_DOT = b"."  # the end of the data as a command of a group: ``.`` CRLF (RFC 5321 4.1.1.4)
KEYWORD = "pipelining"  # the EHLO keyword (RFC 2920 section 2), as aiosmtplib stores it
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]|[^\x00-\x7f]")  # controls, or not ASCII
# A dot-atom address (RFC 5322 section 3.4.1, ASCII): ``email.utils.parseaddr`` gives it
# back unchanged, so aiosmtplib's ``quote_address`` writes ``<address>``; written so here
# without parsing it again for every message (tests compare both).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def quoted(address: str) -> str:
    """``<address>`` for MAIL FROM and RCPT TO: ``aiosmtplib.email.quote_address``, which
    parses the address first, for anything but a plain dot-atom address."""
    if _DOT_ATOM_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return quote_address(address)


class PipeliningProtocol(SMTPProtocol):
    """aiosmtplib's protocol with ``exchange``: several commands written at once, their
    replies read in order. Outside an exchange it is aiosmtplib's protocol unchanged."""

    _expected: collections.deque[asyncio.Future[SMTPResponse]]

    def data_received(self, data: bytes) -> None:
        expected = self.__dict__.get("_expected")
        if not expected:
            super().data_received(data)
            return
        self._buffer.extend(data)
        while expected:
            try:
                response = self._read_response_from_buffer()
            except Exception as exc:  # an unreadable reply: every reply still due fails
                self._fail(exc)
                return
            if response is None:
                break
            expected.popleft().set_result(response)
        if expected and len(self._buffer) > MAX_RESPONSE_LENGTH:
            self._fail(aiosmtplib.SMTPResponseException(-1, "Response too long"))

    def connection_lost(self, exc: Exception | None) -> None:
        lost = aiosmtplib.SMTPServerDisconnected("Connection lost")
        lost.__cause__ = exc
        self._fail(lost)
        super().connection_lost(exc)

    def eof_received(self) -> bool:
        self._fail(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return super().eof_received()

    def _fail(self, exc: BaseException) -> None:
        expected = self.__dict__.get("_expected")
        while expected:
            future = expected.popleft()
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: nobody may await a later one

    def exchange(self, commands: Sequence[bytes]) -> list[asyncio.Future[SMTPResponse]]:
        """Write ``commands`` (each without CRLF) in one write; one future per reply, in
        order. A reply that cannot come (connection lost, unreadable reply) raises
        aiosmtplib's exception when awaited. Raises SMTPServerDisconnected if the
        connection is already gone."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self._expected = collections.deque(futures)
        del self._buffer[:]  # anything unsolicited before the group is not one of its replies
        self.write(b"".join(c + b"\r\n" for c in commands))
        return futures

    def end_exchange(self) -> None:
        """Back to aiosmtplib's one-reply-at-a-time reading (a fresh reply waiter)."""
        self._fail(aiosmtplib.SMTPServerDisconnected("exchange ended"))
        del self._buffer[:]
        if self.transport is not None:
            self._response_waiter = self._loop.create_future()
            self._response_pending = False


def adopt(client: aiosmtplib.SMTP) -> PipeliningProtocol | None:
    """The client's protocol as a ``PipeliningProtocol`` when the server offers
    PIPELINING (EHLO keyword, RFC 2920 section 2); None when it does not (or the client is
    not connected), and the caller sends one command at a time."""
    protocol = client.protocol
    if protocol is None or not client.supports_extension(KEYWORD):
        return None
    if not isinstance(protocol, PipeliningProtocol):
        # Same object, same state: only the reading of replies is extended.
        protocol.__class__ = PipeliningProtocol
    assert isinstance(protocol, PipeliningProtocol)
    return protocol


def envelope_commands(sender: str, recipients: Sequence[str]) -> list[bytes] | None:
    """MAIL FROM, one RCPT TO per recipient and DATA, as aiosmtplib would write them; None
    when an address is not plain ASCII (the caller uses aiosmtplib's own path, which
    refuses or encodes it as it always has)."""
    if any(_UNSAFE.search(a) for a in (sender, *recipients)):
        return None
    mail = b"MAIL FROM:" + quoted(sender).encode("ascii")
    rcpts = [b"RCPT TO:" + quoted(r).encode("ascii") for r in recipients]
    return [mail, *rcpts, b"DATA"]


async def replies(
    protocol: PipeliningProtocol, commands: Sequence[bytes], timeout: float
) -> tuple[list[SMTPResponse], aiosmtplib.SMTPException | None]:
    """Send ``commands`` as one group and read their replies in order, all within
    ``timeout`` seconds (the server answers a group as a unit, RFC 2920 section 3.2): the
    replies that came, and the error that stopped the reading (None when every reply
    came). The error is aiosmtplib's: SMTPServerDisconnected, SMTPReadTimeoutError, or
    SMTPResponseException(-1) for an unreadable reply."""
    try:
        futures = protocol.exchange(commands)
    except aiosmtplib.SMTPException as exc:
        protocol.end_exchange()
        return [], exc
    return await collect(protocol, futures, timeout)


async def collect(
    protocol: PipeliningProtocol,
    futures: Sequence[asyncio.Future[SMTPResponse]],
    timeout: float,
    *,
    end: bool = True,
) -> tuple[list[SMTPResponse], aiosmtplib.SMTPException | None]:
    """The replies of a group already written (``exchange``), as ``replies`` reads them.
    ``end=False``: when every one of ``futures`` came, the exchange stays open for the
    replies still expected after them (the next envelope, sent with a final dot); on an
    error it ends, and those fail."""
    got: list[SMTPResponse] = []
    ok = False
    try:
        try:
            # One deadline for the group, and replies that came together are taken without
            # another turn of the event loop each (a wait_for per reply costs one).
            async with asyncio.timeout(timeout):
                for future in futures:
                    got.append(await future)
        except TimeoutError:
            return got, aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response")
        ok = True
    except aiosmtplib.SMTPException as exc:
        return got, exc
    finally:
        if end or not ok:
            protocol.end_exchange()
    return got, None


@dataclass(frozen=True, slots=True)
class Ahead:
    """The next message, whose envelope goes out with this one's final dot: the message,
    its envelope sender and recipients."""

    message: Message
    sender: str
    recipients: Sequence[str]


@dataclass(frozen=True, slots=True)
class Primed:
    """A connection on which ``message``'s MAIL, RCPT and DATA went out with the previous
    message's final dot: the futures of their replies, in order (``collect`` reads them)."""

    message: Message
    client: aiosmtplib.SMTP
    replies: Sequence[asyncio.Future[SMTPResponse]]


async def final_dot(
    protocol: PipeliningProtocol, ahead: Ahead | None, timeout: float
) -> tuple[SMTPResponse, Sequence[asyncio.Future[SMTPResponse]]]:
    """Write the final dot and, in the same group (RFC 2920 section 3.1: the content may
    open a group, MAIL and RCPT follow anywhere, DATA last), ``ahead``'s MAIL, RCPT and
    DATA when its addresses allow; read the dot's reply within ``timeout``. Returns the
    reply and the futures of the envelope's replies, still expected (empty without
    ``ahead``). Raises aiosmtplib's exception when the reply does not come; the
    envelope's futures then fail."""
    following = envelope_commands(ahead.sender, ahead.recipients) if ahead else None
    try:
        futures = protocol.exchange([FINAL_DOT, *(following or ())])
    except aiosmtplib.SMTPException:
        protocol.end_exchange()
        raise
    got, error = await collect(protocol, futures[:1], timeout, end=len(futures) == 1)
    if error is not None:
        raise error
    return got[0], futures[1:]
