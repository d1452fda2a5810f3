"""The DATA bytes a server receives from the transport (``deliver.wire``'s fast path, the
pipelined envelope) are exactly those aiosmtplib's own ``sendmail`` writes for the same
message: dot-lines, lone LF and CR, 8-bit bytes, a missing final CRLF, a digest-sized
message; also with a refusal in the middle of a pipelined batch and a dropped line.

The server is the scripted aiosmtpd server (``tests.support.faultsmtp``) with each DATA
payload recorded as read from the socket, before aiosmtpd undoes the dot-stuffing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiosmtplib
import pytest

from newsletter.deliver import wire
from newsletter.deliver.smtp import SmtpTransport
from newsletter.models import Message
from tests.support.delivery import smtp_settings
from tests.support.faultsmtp import FaultServer, Rule, ScriptedHandler, ScriptedSMTP

SENDER = "bounces@example.org"

DIGEST = b"".join(
    b'<td style=3D"padding:0">paper %d =E2=80=94 a line of a digest, 76 wide or so=\r\n' % n
    for n in range(600)
)
MESSAGES = {
    "clean CRLF": b"Subject: a\r\n\r\nHello\r\nWorld\r\n",
    "digest, 45 KB": b"Subject: d\r\n\r\n" + DIGEST,
    "dot lines": b".first\r\nSubject: b\r\n\r\n.\r\n..two\r\n. space\r\nx.y\r\n.end\r\n",
    "starts with a dot only": b".Subject: c\r\n\r\nbody\r\n",
    "lone LF": b"Subject: e\n\nline one\nline two\r\n",
    "starts with a lone LF": b"\nSubject: e2\r\n\r\nbody\r\n",
    "lone CR": b"Subject: f\r\n\r\na\rb\r\n\r\r\n",
    "LF CR order": b"Subject: g\r\n\r\na\n\rb\r\n",
    "lone LF then a dot": b"Subject: h\r\n\r\na\n.b\r\n",
    "8-bit": "Subject: é\r\n\r\nGrüße, 日本語\r\n".encode() + bytes(range(128, 256)) + b"\r\n",
    "no final CRLF": b"Subject: i\r\n\r\nno end",
    "no final CRLF, dot": b"Subject: j\r\n\r\nend\r\n.",
    "empty body": b"Subject: k\r\n\r\n",
}


class CapturingSMTP(ScriptedSMTP):
    """Records each DATA payload byte for byte as read from the socket (up to and with
    the final ``.CRLF``), per connection, in ``script.payloads`` as (recipients, bytes)."""

    async def smtp_DATA(self, arg: str) -> None:
        recipients = list(self.envelope.rcpt_tos) if self.envelope else []
        reader = self._reader
        readuntil, read = reader.readuntil, reader.read
        got: list[bytes] = []

        async def record_until(separator: bytes = b"\n") -> bytes:
            chunk = await readuntil(separator)
            got.append(chunk)
            return chunk

        async def record(n: int = -1) -> bytes:
            chunk = await read(n)
            got.append(chunk)
            return chunk

        reader.readuntil, reader.read = record_until, record  # type: ignore[method-assign]
        try:
            await super().smtp_DATA(arg)
        finally:
            reader.readuntil, reader.read = readuntil, read  # type: ignore[method-assign]
            if got:  # also when the handler dropped the line after reading it all
                self.script.payloads.append((recipients, b"".join(got)))  # type: ignore[attr-defined]


def capturing(rules: list[Rule] | None = None) -> FaultServer:
    server = FaultServer.start(rules)
    server.script.payloads = []  # type: ignore[attr-defined]
    handler = ScriptedHandler(server.script)
    kwargs: dict[str, Any] = {"hostname": "fault.test", "timeout": 60}
    server.controller.factory = lambda: CapturingSMTP(handler, **kwargs)  # type: ignore[method-assign]
    return server


@pytest.fixture
def server() -> Iterator[FaultServer]:
    started = capturing()
    yield started
    started.stop()


def payloads(server: FaultServer) -> list[tuple[list[str], bytes]]:
    return list(server.script.payloads)  # type: ignore[attr-defined]


def message(i: int, data: bytes) -> Message:
    to = f"reader{i}@example.test"
    return Message(i, to, SENDER, f"<m{i}@example.org>", "s", data, return_path=SENDER)


async def library_payload(server: FaultServer, data: bytes, to: str) -> bytes:
    """What aiosmtplib's own path (``sendmail``: one command at a time, its own encoding)
    puts on the wire after the 354."""
    before = len(payloads(server))
    client = aiosmtplib.SMTP(hostname=server.host, port=server.port, timeout=5)
    await client.connect()
    await client.sendmail(SENDER, [to], data)
    await client.quit()
    (recipients, payload), *_ = payloads(server)[before:]
    assert recipients == [to]
    return payload


@pytest.mark.parametrize("name", list(MESSAGES))
async def test_the_server_receives_the_library_bytes(server: FaultServer, name: str) -> None:
    data = MESSAGES[name]
    m = message(1, data)
    async with SmtpTransport(smtp_settings(server.port)) as transport:
        result = await transport.send(m)
        assert transport.pipelined == 1  # the envelope went as one group
    assert result.state == "sent", result
    [(recipients, ours)] = payloads(server)
    assert recipients == [m.to]
    theirs = await library_payload(server, data, m.to)
    assert ours == theirs
    assert ours.endswith(b"\r\n.\r\n") and ours == wire.wire_body(data)
    # What the server stored after undoing the dots is the same message, both times.
    assert server.script.accepted[0][2] == server.script.accepted[1][2]


def test_a_message_already_in_wire_form_is_not_copied() -> None:
    for name in ("clean CRLF", "digest, 45 KB", "8-bit", "empty body"):
        assert wire.payload(MESSAGES[name]) is MESSAGES[name], name


@pytest.mark.parametrize(
    ("rule", "lost"),
    [
        (Rule("rcpt", "550 5.1.1 no such user", match="reader5@"), "refused"),
        (Rule("after354", "drop", match="reader5@", times=1), "dropped after 354"),
        (Rule("body", "drop", match="reader5@", times=1), "dropped after the final dot"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.stage,
)
async def test_a_pipelined_batch_with_a_fault_in_the_middle(rule: Rule, lost: str) -> None:
    """Every message of a batch over one pipelining connection; the sixth is refused, or
    its connection dropped: every payload the server read equals the library's."""
    server = capturing([rule])
    try:
        names = list(MESSAGES)
        batch = [message(i, MESSAGES[names[i % len(names)]]) for i in range(len(names))]
        settings = smtp_settings(server.port, smtp_concurrency=1)
        async with SmtpTransport(settings) as transport:
            results = await asyncio.gather(*(transport.send(m) for m in batch))
            assert transport.pipelined >= len(batch)
        states = {m.to: r.state for m, r in zip(batch, results, strict=True)}
        # After 354 the drop of a reused connection is retried once on a fresh one.
        expected = {"refused": "failed", "dropped after 354": "sent"}.get(lost, "unknown")
        assert states.pop("reader5@example.test") == expected
        assert set(states.values()) == {"sent"}
        ours = {recipients[0]: payload for recipients, payload in payloads(server)}
        assert len(ours) == len(batch) - (lost == "refused")
        for m in batch:
            if m.to in ours:
                assert ours[m.to] == await library_payload(server, m.data, m.to), m.to
    finally:
        server.stop()
