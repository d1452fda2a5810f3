"""The envelope of one SMTP transaction: MAIL, RCPT and DATA up to the 354 (RFC 5321
section 3.3), one command at a time or pipelined (RFC 2920), read the same way.

Both return ``(early, refused)``: ``early`` is the transaction's result when it ends
before the body (no recipient accepted, DATA refused), with whether the connection may be
reused; None when DATA was answered 354 and the body may follow. ``refused`` lists the
recipients refused at RCPT. A refusal of MAIL and a lost connection are raised as
aiosmtplib's exceptions, with ``stage[0]`` naming the command whose reply was awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from newsletter.deliver import pipelining
from newsletter.deliver.classify import outcome_for
from newsletter.models import RecipientResult, SendResult, SmtpStage

Early = tuple[SendResult, bool] | None
EMPTY_MESSAGE = b".\r\n"  # a lone final dot: DATA accepted with no recipient (RFC 2920 3.1)
_DISCONNECTS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError)
_ACCEPTED = (250, 251)  # RFC 5321 section 4.1.1.3


async def greet(client: aiosmtplib.SMTP) -> None:
    """EHLO, or HELO when EHLO is refused (RFC 5321 section 4.1.1.1), as aiosmtplib does
    before the first MAIL; the EHLO reply says whether PIPELINING is offered."""
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        if not client.is_connected:
            raise
        await client.helo()


async def one_by_one(
    client: aiosmtplib.SMTP, sender: str, recipients: Sequence[str], stage: list[SmtpStage]
) -> tuple[Early, list[RecipientResult]]:
    """MAIL, RCPT and DATA, each waiting for its reply (a server without PIPELINING)."""
    stage[0] = "mail"
    await client.mail(sender)
    stage[0] = "rcpt"
    refused: list[RecipientResult] = []
    for rcpt in recipients:
        try:
            await client.rcpt(rcpt)
        except aiosmtplib.SMTPRecipientRefused as exc:
            refused.append(_refused(rcpt, exc.code, exc.message))
            if not client.is_connected:
                break
    if len(refused) == len(recipients) or not client.is_connected:
        return await none_accepted(client, refused), refused
    stage[0] = "data"
    start = await client.execute_command(b"DATA")
    return await _data_refused(client, start, refused), refused


async def pipelined(
    client: aiosmtplib.SMTP,
    protocol: pipelining.PipeliningProtocol,
    commands: Sequence[bytes],
    sender: str,
    recipients: Sequence[str],
    stage: list[SmtpStage],
    timeout: float,
    sent: Sequence[asyncio.Future[SMTPResponse]] | None = None,
) -> tuple[Early, list[RecipientResult]]:
    """MAIL, every RCPT and DATA in one write (``pipelining.envelope_commands``), the
    replies read in order and taken exactly as ``one_by_one`` takes them. ``sent``: the
    commands already went out (after the previous message's final dot, in its group),
    these are their replies' futures."""
    stage[0] = "mail"
    if sent is None:
        got, error = await pipelining.replies(protocol, commands, timeout)
    else:
        got, error = await pipelining.collect(protocol, sent, timeout)
    if not got:
        raise error or aiosmtplib.SMTPServerDisconnected("no reply to MAIL")
    if got[0].code != 250:
        raise aiosmtplib.SMTPSenderRefused(got[0].code, got[0].message, sender)
    stage[0] = "rcpt"
    rcpt_replies = got[1 : 1 + len(recipients)]
    refused = [
        _refused(rcpt, reply.code, reply.message)
        for rcpt, reply in zip(recipients, rcpt_replies, strict=False)
        if reply.code not in _ACCEPTED
    ]
    answered_all = len(rcpt_replies) == len(recipients)
    if not answered_all and not refused:
        raise error or aiosmtplib.SMTPServerDisconnected("no reply to RCPT")
    data_reply = got[-1] if len(got) == len(commands if sent is None else sent) else None
    if len(refused) == len(recipients) or not answered_all:
        if data_reply is not None and data_reply.code == 354 and client.protocol is not None:
            client.protocol.write(EMPTY_MESSAGE)
            try:
                await client.protocol.read_response(timeout=timeout)
            except (aiosmtplib.SMTPException, *_DISCONNECTS):
                client.close()
        return await none_accepted(client, refused), refused
    stage[0] = "data"
    if data_reply is None:
        raise error or aiosmtplib.SMTPServerDisconnected("no reply to DATA")
    return await _data_refused(client, data_reply, refused), refused


def _refused(rcpt: str, code: int, text: str) -> RecipientResult:
    return RecipientResult(rcpt, outcome_for(code, "rcpt"), code, text)


async def none_accepted(
    client: aiosmtplib.SMTP, refused: list[RecipientResult]
) -> tuple[SendResult, bool]:
    """No recipient was accepted (or the connection went): the first refusal, after RSET."""
    worst = refused[0] if refused else None
    await reset(client)
    code, text = (worst.code, worst.text) if worst else (None, "connection lost at RCPT")
    state = worst.state if worst else "deferred"
    return SendResult(state, code, text, tuple(refused), stage="rcpt"), client.is_connected


async def _data_refused(
    client: aiosmtplib.SMTP, start: SMTPResponse, refused: list[RecipientResult]
) -> Early:
    """None when DATA was answered 354; else the refusal, after RSET."""
    if start.code == 354:
        return None
    await reset(client)
    state = outcome_for(start.code, "data")
    result = SendResult(state, start.code, start.message, tuple(refused), stage="data")
    return result, client.is_connected


async def reset(client: aiosmtplib.SMTP) -> None:
    """RSET (RFC 5321 section 4.1.1.5); a connection that fails it is closed."""
    if not client.is_connected:
        return
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, *_DISCONNECTS):
        client.close()
