"""STARTTLS + AUTH, implicit TLS, DKIM verified on the received bytes, VERP, Maildir outbox."""

from __future__ import annotations

import datetime as dt
import email
import mailbox
import ssl
import subprocess
from dataclasses import replace
from pathlib import Path

import dkim
import pytest

from newsletter.config import Settings
from newsletter.deliver import SmtpTransport, open_transport
from newsletter.errors import DeliveryError
from newsletter.links import Links
from newsletter.models import Subscriber
from newsletter.tokens import Signer
from tests.support.delivery import build_message, smtp_settings
from tests.support.faultsmtp import FaultServer, Rule
from tests.support.ports import self_signed_cert

SUB = Subscriber(id=7, email="ada@example.test", name="Ada", token_nonce="ada-nonce")
LINKS = Links("https://example.org", Signer.from_secrets("test-secret"), "papers@example.org")


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_starttls_with_auth_delivers_and_plaintext_is_refused_clearly(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    server = FaultServer.start(starttls=server_context(cert, key), credentials=("u", "pw"))
    try:
        good = smtp_settings(
            server.port,
            smtp_security="starttls",
            smtp_ca_file=cert,
            smtp_username="u",
            smtp_password="pw",
        )
        async with open_transport(good) as transport:
            result = await transport.send(build_message(SUB))
        assert result.state == "sent" and server.script.logins == ["u"]
        plain = smtp_settings(server.port, smtp_security="none")
        with pytest.raises(DeliveryError, match=r"530 .*check SMTP_SECURITY"):
            async with open_transport(plain) as transport:
                await transport.send(build_message(SUB))
        assert len(server.script.accepted) == 1
    finally:
        server.stop()


async def test_implicit_tls(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    server = FaultServer.start(implicit_tls=server_context(cert, key))
    try:
        settings = smtp_settings(server.port, smtp_security="tls", smtp_ca_file=cert)
        async with open_transport(settings) as transport:
            result = await transport.send(build_message(SUB))
        assert result.state == "sent"
        assert server.accepted_by()["ada@example.test"] == 1
    finally:
        server.stop()


async def test_partial_recipient_refusal_is_reported_per_recipient() -> None:
    server = FaultServer.start([Rule("rcpt", "550 5.1.1 unknown", match="bad@")])
    try:
        transport = SmtpTransport(smtp_settings(server.port))
        async with transport:
            data = build_message(SUB).data
            result = await transport.send_envelope(
                "papers@example.org", ["good@example.test", "bad@example.test"], data
            )
        assert result.state == "sent"
        per = {r.address: (r.state, r.code) for r in result.recipients}
        assert per == {"good@example.test": ("sent", 250), "bad@example.test": ("failed", 550)}
        assert server.accepted_by() == {"good@example.test": 1}
    finally:
        server.stop()


def _dkim_key(tmp_path: Path) -> tuple[Path, bytes]:
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    import base64

    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


async def test_dkim_signature_of_the_received_bytes_verifies_and_verp_names_the_subscriber(
    tmp_path: Path,
) -> None:
    key, record = _dkim_key(tmp_path)
    server = FaultServer.start()
    try:
        settings = smtp_settings(
            server.port,
            dkim_selector="sel",
            dkim_domain="example.org",
            dkim_private_key_path=key,
            verp=True,
        )
        # The renderer sets the VERP return path (VERP=true); the transport sends from it.
        message = replace(build_message(SUB), return_path=LINKS.return_path(SUB))
        async with open_transport(settings) as transport:
            assert (await transport.send(message)).state == "sent"
        sender, _rcpts, received = server.script.accepted[0]
    finally:
        server.stop()

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"sel._domainkey.example.org."
        return record

    assert received.startswith(b"DKIM-Signature:")
    assert dkim.verify(received, dnsfunc=dns)
    signed = (
        email.message_from_bytes(received)["DKIM-Signature"].replace("\r\n", "").replace(" ", "")
    )
    for header in ("from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe"):
        assert header in signed.split("h=")[1].split(";")[0].lower().split(":")
    # one changed byte breaks it: the exact bytes were signed and sent
    assert not dkim.verify(received.replace(b"Hello Ada", b"Hello Bob"), dnsfunc=dns)
    local, _, domain = sender.partition("@")
    assert domain == "example.org" and local.startswith("papers+bounce-")
    token = LINKS.bounce_token(local)
    assert token is not None
    assert LINKS.subscriber_for("bounce", token, {7: SUB}.get, dt.datetime.now(dt.UTC)) == SUB


async def test_maildir_outbox_and_browsable_html(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, delivery="maildir", outbox_dir=tmp_path / "outbox")
    async with open_transport(settings) as transport:
        result = await transport.send(build_message(SUB))
    assert result.state == "sent", result.text
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    [stored] = list(box)
    assert stored["To"] == "ada@example.test"
    page = tmp_path / "outbox" / "html" / "2026-11-26-ada@example.test.html"
    assert page.read_text() == "<p>Hello Ada</p>"
    assert {p.name for p in (tmp_path / "outbox").iterdir()} >= {"tmp", "new", "cur", "html"}


async def test_a_digest_copy_is_named_after_its_edition(tmp_path: Path) -> None:
    # sent on 26 November (the Date header), of the edition of 24 November
    message = replace(build_message(SUB), edition_date=dt.date(2026, 11, 24))
    settings = Settings(_env_file=None, delivery="maildir", outbox_dir=tmp_path / "outbox")
    async with open_transport(settings) as transport:
        assert (await transport.send(message)).state == "sent"
    names = [p.name for p in (tmp_path / "outbox" / "html").iterdir()]
    assert names == ["2026-11-24-ada@example.test.html"]
