"""SMTP delivery over a pool of reused aiosmtplib connections.

Up to ``concurrency`` connections are open at once; each carries many messages
and is re-opened after any error. Every message runs under an overall timeout
(``message_timeout``) on top of aiosmtplib's per-command timeout.

The DATA stage is split so the outcome is exact: a drop before the final dot is
written means the server cannot have the message (deferred); a drop or timeout
after the final dot, before the reply, means it may have it (unknown).

The ``on_data`` hook runs when everything but the final dot has been written (RFC 5321
section 4.1.1.4: the server takes the message only at ``<CRLF>.<CRLF>``), so the moment
the sender records as "it may have gone out" is as close as it can be to the moment it
can; when the hook answers False the connection is closed without the dot, which aborts
the transaction, and nothing is delivered.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from types import TracebackType

import aiosmtplib

from newsletter.config import Settings
from newsletter.deliver import envelope, pipelining, wire
from newsletter.deliver.classify import outcome_for, outcome_for_disconnect
from newsletter.deliver.dkim import DkimSigner
from newsletter.deliver.pipelining import Ahead, Primed
from newsletter.deliver.wire import FINAL_DOT
from newsletter.errors import DeliveryError, SettingsError
from newsletter.models import NOT_OWNED, DataHook, Message, RecipientResult, SendResult, SmtpStage

log = logging.getLogger(__name__)

# 530 authentication/STARTTLS required, 534/538 mechanism or encryption needed, 535 bad login
CONFIG_ERROR_CODES = frozenset({530, 534, 535, 538})
POST_354_WAIT = 0.001  # seconds: see _transaction
_DISCONNECTS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The SSL context for SMTP_CA_FILE (None: the system's), or a one-line SettingsError."""
    if settings.smtp_ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=str(settings.smtp_ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SettingsError(
            "NEWSLETTER_SMTP_CA_FILE", f"cannot load {settings.smtp_ca_file}: {reason}"
        ) from None


class SmtpTransport:
    """A ``Transport`` over SMTP (RFC 5321): a pool of at most ``SMTP_CONCURRENCY`` reused
    connections with STARTTLS or implicit TLS (RFC 8314) and AUTH, DKIM-signing each message
    when ``dkim_signer`` is given. Replies are classified by ``deliver.classify``."""

    def __init__(
        self,
        settings: Settings,
        *,
        dkim_signer: DkimSigner | None = None,
    ) -> None:
        self.settings = settings
        self.dkim_signer = dkim_signer
        self.connections_opened = 0
        self.pipelined = 0  # envelopes sent as one group (RFC 2920)
        self._slots = asyncio.Semaphore(settings.smtp_concurrency)
        self._idle: list[aiosmtplib.SMTP] = []
        self._primed: dict[int, Primed] = {}  # id(message) -> its connection, envelope sent
        self._tls_context: ssl.SSLContext | None = tls_context(settings)
        self._sender = settings.sender_address  # parsed once, not per message

    async def __aenter__(self) -> SmtpTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        idle, self._idle = self._idle, []
        for primed in self._primed.values():  # a ``then`` never sent: its body never went
            primed.client.close()  # out, and the server drops the open transaction
        self._primed.clear()
        for client in idle:
            try:
                async with asyncio.timeout(self.settings.smtp_timeout):
                    await client.quit()
            except (aiosmtplib.SMTPException, *_DISCONNECTS):
                client.close()

    def envelope_sender(self, message: Message) -> str:
        """MAIL FROM: the message's VERP return path (made by the renderer), or FROM."""
        return message.return_path or self._sender

    async def send(
        self, message: Message, *, on_data: DataHook | None = None, then: Message | None = None
    ) -> SendResult:
        """Send ``message`` (DKIM-signed when configured) to its one recipient; see
        ``Transport.send``.

        ``then``: the message the caller sends next, on a connection of its own turn. On a
        PIPELINING connection its MAIL, RCPT and DATA go out in one write with this
        message's final dot (RFC 2920 section 3.1: the content may open a group), after
        the dot's reply is read; its body only in its own ``send``, after its ``on_data``.
        A ``then`` never sent has its connection closed with the transport."""
        data = self.dkim_signer.sign(message.data) if self.dkim_signer else message.data
        primed = self._primed.pop(id(message), None)  # holds the message: the id is its own
        ahead = Ahead(then, self.envelope_sender(then), [then.to]) if then else None
        return await self.send_envelope(
            self.envelope_sender(message),
            [message.to],
            data,
            on_data=on_data,
            primed=primed,
            ahead=ahead,
        )

    async def send_envelope(
        self,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
        *,
        on_data: DataHook | None = None,
        primed: Primed | None = None,
        ahead: Ahead | None = None,
    ) -> SendResult:
        """One SMTP transaction; refusals of single recipients are reported per recipient.
        ``primed``: its envelope already went out on that connection; ``ahead``: the next
        envelope, to go out with the final dot (see ``send``)."""
        async with self._slots:
            if primed is not None:
                client = primed.client
            else:
                client = self._idle.pop() if self._idle else self._new_client()
            reused = client.is_connected
            result, keep = await self._attempt(
                client, sender, recipients, data, on_data, primed, ahead
            )
            lost = result.state == "deferred" and result.code is None and not keep
            if reused and lost and result.text != NOT_OWNED:
                # A pooled connection the server closed while idle (or after the previous
                # message's reply, with this envelope in flight): retry once on a fresh one.
                client.close()
                client = self._new_client()
                result, keep = await self._attempt(
                    client, sender, recipients, data, on_data, None, ahead
                )
            waiting = self._primed.get(id(ahead.message)) if ahead else None
            if not (keep and client.is_connected):
                client.close()
            elif waiting is None or waiting.client is not client:
                self._idle.append(client)  # else it waits for ``ahead``'s send
            return result

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port_effective,
            timeout=s.smtp_timeout,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            tls_context=self._tls_context,
            username=s.smtp_username,
            password=password,
        )

    async def _attempt(
        self,
        client: aiosmtplib.SMTP,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
        on_data: DataHook | None,
        primed: Primed | None,
        ahead: Ahead | None,
    ) -> tuple[SendResult, bool]:
        stage: list[SmtpStage] = ["connect"]
        try:
            async with asyncio.timeout(self.settings.message_timeout):
                return await self._transaction(
                    client, sender, recipients, data, on_data, stage, primed, ahead
                )
        except TimeoutError as exc:  # aiosmtplib's per-reply timeouts are TimeoutErrors too
            waited = (
                self.settings.smtp_timeout
                if isinstance(exc, aiosmtplib.SMTPTimeoutError)
                else self.settings.message_timeout
            )
            text = f"no reply within {waited:g}s during {stage[0]}"
            return SendResult(outcome_for_disconnect(stage[0]), None, text, stage=stage[0]), False
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{self.settings.smtp_host}", f"login refused: {exc.code} {exc.message}"
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code in CONFIG_ERROR_CODES and stage[0] != "body":
                # STARTTLS / AUTH required or refused: every message would fail; stop the run.
                raise DeliveryError(
                    self.settings.smtp_host, f"{exc.code} {exc.message} (check SMTP_SECURITY/AUTH)"
                ) from None
            state = outcome_for(exc.code, stage[0])
            return SendResult(state, exc.code, exc.message, stage=stage[0]), False
        except aiosmtplib.SMTPException as exc:
            if stage[0] == "connect" and not isinstance(exc, _DISCONNECTS):
                raise DeliveryError(self.settings.smtp_host, str(exc).splitlines()[0]) from None
            text = f"connection lost during {stage[0]}: {exc}"
            return SendResult(outcome_for_disconnect(stage[0]), None, text, stage=stage[0]), False
        except OSError as exc:
            text = f"connection lost during {stage[0]}: {exc}"
            return SendResult(outcome_for_disconnect(stage[0]), None, text, stage=stage[0]), False

    async def _transaction(
        self,
        client: aiosmtplib.SMTP,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
        on_data: DataHook | None,
        stage: list[SmtpStage],
        primed: Primed | None,
        ahead: Ahead | None,
    ) -> tuple[SendResult, bool]:
        protocol = pipelining.adopt(client) if primed is not None else None
        if protocol is not None and primed is not None:
            # MAIL, RCPT and DATA went out with the previous message's final dot.
            self.pipelined += 1
            early, refused = await envelope.pipelined(
                client, protocol, (), sender, recipients, stage, self.settings.smtp_timeout,
                sent=primed.replies,
            )  # fmt: skip
        else:
            protocol, early, refused = await self._envelope(client, sender, recipients, stage)
        if early is not None:
            return early
        if on_data is None:
            # Let the loop read what already arrived: a server that hung up right after
            # 354 is noticed here, and the message is safely deferred rather than
            # "unknown". A short real wait (not only sleep(0)) lets a hang-up sent just
            # behind the 354 arrive. With ``on_data`` its own turns of the loop (the
            # ledger's mark, below) do this, before the final dot, without a timer.
            await asyncio.sleep(POST_354_WAIT)
        if not client.is_connected or client.protocol is None:
            return SendResult("deferred", None, "connection closed after 354", stage="data"), False
        client.protocol.write(wire.payload(data))  # the message itself when already in wire form
        if on_data is not None and not await on_data():
            client.close()  # no final dot: the server discards what it got
            return SendResult("deferred", None, NOT_OWNED, stage="data"), False
        if not client.is_connected or client.protocol is None:
            return SendResult(
                "deferred", None, "connection lost before the final dot", stage="data"
            ), False
        stage[0] = "body"
        if protocol is not None:
            # The final dot as a group, its reply read as the envelope's were (without
            # aiosmtplib's ``wait_for``), with the next message's envelope when given.
            reply, following = await pipelining.final_dot(
                protocol, ahead, self.settings.smtp_timeout
            )
            if ahead is not None and following:
                stale = self._primed.pop(id(ahead.message), None)
                if stale is not None:  # named before and never sent: drop that one
                    stale.client.close()
                self._primed[id(ahead.message)] = Primed(ahead.message, client, following)
        else:
            client.protocol.write(FINAL_DOT)
            reply = await client.protocol.read_response(timeout=self.settings.smtp_timeout)
        accepted = [
            RecipientResult(r, outcome_for(reply.code, "body"), reply.code, reply.message)
            for r in recipients
            if r not in {x.address for x in refused}
        ]
        state = outcome_for(reply.code, "body")
        return SendResult(
            state, reply.code, reply.message, (*accepted, *refused), stage="body"
        ), True

    async def _envelope(
        self,
        client: aiosmtplib.SMTP,
        sender: str,
        recipients: Sequence[str],
        stage: list[SmtpStage],
    ) -> tuple[pipelining.PipeliningProtocol | None, envelope.Early, list[RecipientResult]]:
        """Connect and greet when needed, then MAIL, RCPT and DATA: in one group on a
        PIPELINING connection, else one by one."""
        if not client.is_connected:
            await client.connect()
            self.connections_opened += 1
        if client.is_ehlo_or_helo_needed:
            # What aiosmtplib's mail() would do first, done here so that the first envelope
            # on a connection can be pipelined too; a refusal counts as MAIL's, as there.
            stage[0] = "mail"
            await envelope.greet(client)
        protocol = pipelining.adopt(client)
        commands = pipelining.envelope_commands(sender, recipients) if protocol else None
        if protocol is not None and commands is not None:
            self.pipelined += 1
            early, refused = await envelope.pipelined(
                client, protocol, commands, sender, recipients, stage, self.settings.smtp_timeout
            )
            return protocol, early, refused
        return protocol, *await envelope.one_by_one(client, sender, recipients, stage)
