"""A scripted SMTP server (aiosmtpd on 127.0.0.1) that misbehaves on purpose.

    server = FaultServer.start(rules=[Rule("rcpt", "451 4.7.1 slow down", times=2)])
    ... send to server.host, server.port ...
    server.delivered()  -> {recipient: copies}   (messages the server got to the final dot)
    server.stop()

A ``Rule`` fires at a stage (``connect`` greeting is not scripted; ``mail``,
``rcpt``, ``data`` (the DATA command), ``after354`` (drop mid-DATA), ``body``
(after the final dot)) for recipients containing ``match``, at most ``times``
times (``None``: always). Actions: an SMTP reply line ("451 4.7.1 try later"),
``"421 ..."`` (reply then close), ``"drop"`` (close without replying) or
``"stall"`` (say nothing for ``seconds``). ``delay`` slows every accepted message.
The server offers PIPELINING (RFC 2920) unless started with ``pipelining=False``;
``script.pipelined`` records, for each MAIL, whether the client's next command had
already arrived with it (one group); ``script.mail_with_dot``, for each final dot, whether
the next envelope's MAIL had (RFC 2920 section 3.1). Usable by any test:
``from tests.support.faultsmtp import FaultServer, Rule``.
For a server that accepts everything, use the sink (``tests.support.smtp``).
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.support.ports import free_port


@dataclass
class Rule:
    stage: str
    action: str
    match: str = ""
    times: int | None = None
    seconds: float = 30.0
    fired: int = 0

    def applies(self, stage: str, recipients: list[str]) -> bool:
        if self.stage != stage or (self.times is not None and self.fired >= self.times):
            return False
        return not self.match or any(self.match in r for r in recipients)


@dataclass
class Script:
    rules: list[Rule] = field(default_factory=list)
    delay: float = 0.0
    pipelining: bool = True
    pipelined: list[bool] = field(default_factory=list)
    mail_with_dot: list[bool] = field(default_factory=list)
    data_without_rcpt: bool = False  # answer DATA 354 even with no recipient (RFC 2920 3.1)
    empty_messages: int = 0
    accepted: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    unanswered: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    connections: int = 0
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_accepted(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` messages were accepted (woken by each); False on timeout."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.accepted) >= count, timeout)

    def fire(self, stage: str, recipients: list[str]) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.applies(stage, recipients):
                    rule.fired += 1
                    return rule
        return None


async def _act(server: SMTP, rule: Rule) -> str | None:
    """Carry out a rule; the reply to send, or None when the connection is gone."""
    transport = server.transport
    if rule.action == "stall":
        await asyncio.sleep(rule.seconds)
        return "451 4.3.0 stalled"
    if rule.action == "drop":
        if transport is not None:
            transport.abort()
        return None
    if rule.action.startswith("421") and transport is not None:
        asyncio.get_running_loop().call_soon(transport.close)
    return rule.action


class ScriptedHandler:
    def __init__(self, script: Script) -> None:
        self.script = script

    async def handle_EHLO(
        self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.script.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        # Lines read from the socket but not yet handled: the rest of the client's group.
        waiting = bytes(getattr(server._reader, "_buffer", b""))
        self.script.pipelined.append(waiting.startswith(b"RCPT"))
        rule = self.script.fire("mail", [])
        if rule:
            return await _act(server, rule) or ""
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        rule = self.script.fire("rcpt", [address])
        if rule:
            return await _act(server, rule) or ""
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        waiting = bytes(getattr(server._reader, "_buffer", b""))  # what came with the dot
        self.script.mail_with_dot.append(waiting.startswith(b"MAIL"))
        item = (str(envelope.mail_from), list(envelope.rcpt_tos), bytes(envelope.original_content))
        rule = self.script.fire("body", item[1])
        if self.script.delay:
            await asyncio.sleep(self.script.delay)
        if rule:
            self.script.unanswered.append(item)
            return await _act(server, rule) or ""
        with self.script.arrived:
            self.script.accepted.append(item)
            self.script.arrived.notify_all()
        return f"250 2.0.0 OK queued as q{len(self.script.accepted)}"


class ScriptedSMTP(SMTP):
    def __init__(self, handler: ScriptedHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.script = handler.script

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        with self.script.lock:
            self.script.connections += 1
        super().connection_made(transport)

    async def smtp_DATA(self, arg: str) -> None:
        recipients = list(self.envelope.rcpt_tos) if self.envelope else []
        if not recipients and self.script.data_without_rcpt and self.transport is not None:
            # A lax server: 354 with no recipient. The client must send a lone dot.
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            line = await self._reader.readuntil(b"\r\n")
            self.script.empty_messages += line == b".\r\n"
            await self.push("554 5.5.1 no valid recipients")
            return
        rule = self.script.fire("data", recipients)
        if rule:
            reply = await _act(self, rule)
            if reply:
                await self.push(reply)
            return
        rule = self.script.fire("after354", recipients)
        if rule and self.transport is not None:
            # The 354 and the hang-up leave together, in one TCP segment (TCP_CORK holds the
            # 354 until the close), so the client sees both before its body, however
            # loaded the machine is.
            sock = self.transport.get_extra_info("socket")
            if sock is not None and hasattr(socket, "TCP_CORK"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            self.transport.close()
            return
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def __init__(self, handler: ScriptedHandler, smtp_kwargs: dict[str, Any], **kw: Any) -> None:
        self._smtp_kwargs = smtp_kwargs
        super().__init__(handler, **kw)

    def factory(self) -> SMTP:
        return ScriptedSMTP(self.handler, **self._smtp_kwargs)


@dataclass
class FaultServer:
    host: str
    port: int
    script: Script
    controller: Controller

    @classmethod
    def start(
        cls,
        rules: list[Rule] | None = None,
        *,
        delay: float = 0.0,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        pipelining: bool = True,
        data_without_rcpt: bool = False,
    ) -> FaultServer:
        script = Script(
            rules=list(rules or []),
            delay=delay,
            pipelining=pipelining,
            data_without_rcpt=data_without_rcpt,
        )
        smtp_kwargs: dict[str, Any] = {"hostname": "fault.test", "timeout": 60}
        if starttls is not None:
            smtp_kwargs.update(tls_context=starttls, require_starttls=True)
        if credentials is not None:
            smtp_kwargs.update(
                authenticator=_authenticator(script, credentials),
                auth_required=True,
                auth_require_tls=starttls is not None or implicit_tls is not None,
            )
        port = free_port()
        controller = _Controller(
            ScriptedHandler(script),
            smtp_kwargs,
            hostname="127.0.0.1",
            port=port,
            ssl_context=implicit_tls,
            ready_timeout=10,
        )
        controller.start()
        return cls("127.0.0.1", port, script, controller)

    def stop(self) -> None:
        self.controller.stop()

    def delivered(self) -> collections.Counter[str]:
        """Copies per recipient the server received to the final dot (answered or not)."""
        counter: collections.Counter[str] = collections.Counter()
        for _sender, recipients, _data in [*self.script.accepted, *self.script.unanswered]:
            counter.update(recipients)
        return counter

    def accepted_by(self) -> collections.Counter[str]:
        counter: collections.Counter[str] = collections.Counter()
        for _sender, recipients, _data in self.script.accepted:
            counter.update(recipients)
        return counter


def _authenticator(script: Script, credentials: tuple[str, str]) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            credentials[0].encode(),
            credentials[1].encode(),
        )
        if ok:
            script.logins.append(credentials[0])
        return AuthResult(success=ok, handled=False)

    return check
