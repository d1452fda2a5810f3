"""``newsletter doctor`` against real servers on 127.0.0.1: SMTP (plain, AUTH, STARTTLS), HTTP,
databases, and a DKIM record that dkimpy accepts for verifying a signature."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import sqlite3
import ssl
from pathlib import Path
from typing import Any

import dkim
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from newsletter.cli import main
from newsletter.config import Settings
from newsletter.errors import SettingsError
from newsletter.ops.dns import dkim_public_value, dns_records
from newsletter.ops.doctor import (
    Check,
    check_base_url,
    check_database,
    check_dkim,
    check_imap,
    check_smtp,
    check_sources,
    source_urls,
)
from newsletter.store.db import Store
from newsletter.store.migrations import MIGRATIONS
from tests.support.faultsmtp import FaultServer
from tests.support.ports import free_port, self_signed_cert
from tests.support.smtp import SmtpSink

USER, PASSWORD = "operator", "correct horse"
NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def smtp(port: int, **values: Any) -> Settings:
    base = {"delivery": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_timeout": 5}
    return settings(**(base | {"smtp_security": "none"} | values))


async def test_smtp_reachable_without_auth(smtp_sink: SmtpSink) -> None:
    check = await check_smtp(smtp(smtp_sink.port))
    assert check.status == "ok"
    assert check.line == f"ok    smtp: 127.0.0.1:{smtp_sink.port} (none): EHLO; no message sent"
    assert smtp_sink.envelopes == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_smtp_login_accepted_and_refused() -> None:
    server = FaultServer.start(credentials=(USER, PASSWORD))
    try:
        good = await check_smtp(smtp(server.port, smtp_username=USER, smtp_password=PASSWORD))
        bad = await check_smtp(smtp(server.port, smtp_username=USER, smtp_password="wrong"))
        missing = await check_smtp(smtp(server.port))
    finally:
        server.stop()
    assert good.status == "ok"
    assert f"login as {USER} accepted" in good.detail
    assert server.script.logins == [USER]
    assert bad.status == "FAIL"
    assert "login refused (535" in bad.detail
    assert bad.fix == "check NEWSLETTER_SMTP_USERNAME and SMTP_PASSWORD"
    assert missing.status == "warn"
    assert "offers AUTH but no username is set" in missing.detail
    assert server.delivered() == {}


async def test_smtp_starttls_with_the_operators_ca(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = FaultServer.start(starttls=context, credentials=(USER, PASSWORD))
    try:
        trusted = await check_smtp(
            smtp(
                server.port,
                smtp_security="starttls",
                smtp_ca_file=cert,
                smtp_username=USER,
                smtp_password=PASSWORD,
            )
        )
        untrusted = await check_smtp(
            smtp(server.port, smtp_security="starttls", smtp_username=USER, smtp_password=PASSWORD)
        )
    finally:
        server.stop()
    assert trusted.status == "ok", trusted.line
    assert "EHLO, STARTTLS, login as operator accepted" in trusted.detail
    assert untrusted.status == "FAIL"
    assert "certificate verify failed" in untrusted.detail.lower()


async def test_smtp_unreachable_fails_with_the_fix() -> None:
    port = free_port()
    check = await check_smtp(smtp(port))
    assert check.status == "FAIL"
    assert check.detail.startswith(f"127.0.0.1:{port} (none): ")
    assert check.fix == "check NEWSLETTER_SMTP_HOST, SMTP_PORT and SMTP_SECURITY"


async def test_imap_unreachable_fails() -> None:
    port = free_port()
    check = await check_imap(
        settings(imap_host="127.0.0.1", imap_port=port, imap_security="none", smtp_timeout=3)
    )
    assert check.status == "FAIL"
    assert "refused" in check.detail.lower()


async def test_imap_certificate_is_verified(tmp_path: Path) -> None:
    """The same ``Mailbox`` as the inbox reader: a self-signed certificate is refused."""
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK IMAP4rev1 ready\r\n")
        with contextlib.suppress(OSError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        check = await check_imap(
            settings(imap_host="127.0.0.1", imap_port=port, imap_security="tls", smtp_timeout=5)
        )
    finally:
        server.close()
    assert check.status == "FAIL"
    assert "certificate verify failed" in check.detail.lower()


async def test_base_url_answers(http_server: str) -> None:
    assert (await check_base_url(settings(base_url=http_server))).status == "ok"
    down = await check_base_url(settings(base_url=f"http://127.0.0.1:{free_port()}"))
    assert down.status == "FAIL"


def test_database_migrated_pending_and_unreachable(tmp_path: Path) -> None:
    """Pending migrations are information (every command applies them), not a failure."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    missing = check_database(settings(database_url=url), now=NOW)
    assert missing.status == "info"
    assert missing.detail.startswith(f"no database at {tmp_path / 'fresh.db'} yet (not created)")
    assert not (tmp_path / "fresh.db").exists()  # doctor creates nothing
    (tmp_path / "fresh.db").write_bytes(b"")  # emptied by mistake: never rebuilt in silence
    emptied = check_database(settings(database_url=url), now=NOW)
    assert (emptied.status, emptied.detail) == (
        "FAIL",
        f"{tmp_path / 'fresh.db'} is empty (0 bytes)",
    )
    assert "`newsletter db upgrade`" in emptied.fix
    Store.open(url, now=NOW).close()
    with sqlite3.connect(tmp_path / "fresh.db") as conn:  # as if the last migration were new
        conn.execute("DELETE FROM migrations WHERE name = ?", (MIGRATIONS[-1][0],))
    pending = check_database(settings(database_url=url), now=NOW)
    assert pending.status == "info"
    assert f"1 migration pending ({MIGRATIONS[-1][0]})" in pending.detail
    assert "`newsletter db upgrade`" in pending.detail
    Store.open(url, now=NOW).close()
    assert check_database(settings(database_url=url), now=NOW).status == "ok"
    gone = check_database(
        settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"), now=NOW
    )
    assert gone.status == "FAIL"
    assert gone.fix.startswith("check NEWSLETTER_DATABASE_URL")


def write_key(path: Path, kind: str) -> bytes:
    key = (
        rsa.generate_private_key(65537, 2048)
        if kind == "rsa"
        else ed25519.Ed25519PrivateKey.generate()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    return pem


def test_dkim_record_verifies_a_real_signature(tmp_path: Path) -> None:
    pem = write_key(tmp_path / "dkim.pem", "rsa")
    config = settings(
        dkim_selector="mail2026",
        dkim_domain="papers.example.net",
        dkim_private_key_path=tmp_path / "dkim.pem",
    )
    records = {r.name: r for r in dns_records(config)}
    record = records["mail2026._domainkey.papers.example.net"]
    assert record.type == "TXT"
    txt = record.value.replace('" "', "")
    message = b"From: a@papers.example.net\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
    signed = dkim.sign(message, b"mail2026", b"papers.example.net", pem)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail2026._domainkey.papers.example.net."
        return txt.encode()

    assert dkim.verify(signed + message, dnsfunc=dns)
    assert all(len(chunk) <= 255 for chunk in record.value.split('" "'))
    assert "_dmarc.papers.example.net" in records
    assert records["papers.example.net"].value.startswith("v=spf1 ")


def test_dkim_ed25519_public_key(tmp_path: Path) -> None:
    pem = write_key(tmp_path / "ed.pem", "ed25519")
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    value = dkim_public_value(pem)
    assert value.startswith("v=DKIM1; k=ed25519; p=")
    assert base64.b64decode(value.rsplit("p=", 1)[1]) == raw


def cli_env(**values: str) -> dict[str, str]:
    return {f"NEWSLETTER_{k.upper()}": v for k, v in values.items()}


def test_cli_all_green(tmp_path: Path, smtp_sink: SmtpSink, http_server: str) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    Store.open(url, now=dt.datetime(2026, 11, 26, tzinfo=dt.UTC)).close()
    write_key(tmp_path / "dkim.pem", "rsa")
    env = cli_env(
        database_url=url,
        delivery="smtp",
        smtp_host="127.0.0.1",
        smtp_port=str(smtp_sink.port),
        smtp_security="none",
        base_url=http_server,
        alert_email="ops@papers.example.net",
        dkim_selector="s1",
        dkim_domain="papers.example.net",
        dkim_private_key_path=str(tmp_path / "dkim.pem"),
        sources="hf_daily",
        hf_daily_url=f"{http_server}/health",
    )
    env["NEWSLETTER_FROM"] = "Papers <papers@papers.example.net>"
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:8]] == [
        "ok",
        "warn",
        "ok",
        "ok",
        "skip",
        "ok",
        "ok",
        "ok",
    ]
    assert f"ok    source hf_daily: {http_server}/health: HTTP 200" in lines
    assert lines[1].startswith("warn  base_url: http://127.0.0.1:")  # not public, but it answers
    assert "DNS records to publish:" in lines
    assert any(
        line.startswith('  s1._domainkey.papers.example.net. TXT "v=DKIM1; k=rsa; p=')
        for line in lines
    )
    assert lines[-1] == "All checks passed."
    assert smtp_sink.envelopes == []


def test_cli_unreachable_smtp_exits_non_zero(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        delivery="smtp",
        smtp_host="127.0.0.1",
        smtp_port=str(port),
        smtp_security="none",
        smtp_timeout="3",
        dkim_selector="s1",
        dkim_private_key_path=str(tmp_path / "missing.pem"),
        sources="sample",
    )
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 1
    smtp_line = next(line for line in result.stdout.splitlines() if " smtp: " in line)
    assert smtp_line.startswith(f"FAIL  smtp: 127.0.0.1:{port} (none): ")
    assert smtp_line.endswith("-> fix: check NEWSLETTER_SMTP_HOST, SMTP_PORT and SMTP_SECURITY")
    assert "FAIL  dkim: setting NEWSLETTER_DKIM_PRIVATE_KEY_PATH: cannot read" in result.stdout
    assert result.stdout.rstrip().endswith("3 checks failed.")


def test_cli_bad_setting_is_one_line() -> None:
    result = CliRunner().invoke(main, ["doctor"], env={"NEWSLETTER_SMTP_SECURITY": "ssl"})
    assert result.exit_code == 1
    assert result.stdout.startswith("FAIL  settings: setting NEWSLETTER_SMTP_SECURITY: ")
    assert len(result.stdout.strip().splitlines()) == 1


def test_cli_fresh_install_passes_with_migrations_as_information(
    tmp_path: Path, http_server: str
) -> None:
    env = cli_env(
        database_url=f"sqlite:///{tmp_path / 'new.db'}",
        delivery="maildir",
        outbox_dir=str(tmp_path / "outbox"),
        base_url=http_server,
        sources="sample",
    )
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    assert f"info  database: no database at {tmp_path / 'new.db'} yet (not created)" in (
        result.stdout
    )
    assert result.stdout.rstrip().endswith("All checks passed.")
    assert not (tmp_path / "new.db").exists()


def test_cli_names_settings_it_ignores(tmp_path: Path, http_server: str) -> None:
    """A misspelt name in .env or the environment is no setting; pydantic-settings ignores
    it, so the default stays in place in silence. doctor names each one and the setting
    meant (before: nothing; NEWSLETTER_FORM left the placeholder sender)."""
    env_file = tmp_path / "site.env"
    env_file.write_text(
        f"NEWSLETTER_DATABASE_URL=sqlite:///{tmp_path / 'new.db'}\n"
        "NEWSLETTER_FORM=Papers <papers@papers.example.net>\n"
        "NEWSLETTER_DELIVERY=maildir\n"
        f"NEWSLETTER_OUTBOX_DIR={tmp_path / 'outbox'}\n"
        f"NEWSLETTER_BASE_URL={http_server}\n"
        "NEWSLETTER_SOURCES=sample\n"
    )
    result = CliRunner().invoke(
        main, ["--env-file", str(env_file), "doctor"], env={"NEWSLETTER_SMTP_HOTS": "x"}
    )
    assert result.exit_code == 0, result.output  # a warning, not a failed check
    assert result.stdout.splitlines()[1] == (
        "warn  settings: not a setting, ignored: NEWSLETTER_FORM (did you mean"
        " NEWSLETTER_FROM?), NEWSLETTER_SMTP_HOTS (did you mean NEWSLETTER_SMTP_HOST?)"
        " -> fix: rename or remove them (every setting is in .env.example)"
    )
    assert "warn  from: papers@example.org is a placeholder" in result.stdout
    spelt = env_file.read_text().replace("NEWSLETTER_FORM", "NEWSLETTER_FROM_ADDRESS")
    env_file.write_text(spelt)
    again = CliRunner().invoke(main, ["--env-file", str(env_file), "doctor"])
    assert "not a setting" not in again.stdout and "placeholder" not in again.stdout


@pytest.mark.parametrize(
    ("host", "mechanism"),
    [
        ("192.0.2.25", "ip4:192.0.2.25"),
        ("2001:db8::25", "ip6:2001:db8::25"),
        ("[2001:db8::25]", "ip6:2001:db8::25"),
        ("smtp.example.net", "a:smtp.example.net"),
    ],
)
def test_spf_names_an_address_with_ip4_or_ip6(host: str, mechanism: str) -> None:
    record = dns_records(settings(delivery="smtp", smtp_host=host))[0]
    assert record.value == f"v=spf1 mx {mechanism} ~all"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "relay.localhost"])
def test_spf_for_a_loopback_relay_asks_for_the_public_address(host: str) -> None:
    """Before: `a:localhost`, which allows nothing the world sees."""
    [spf] = [r for r in dns_records(settings(delivery="smtp", smtp_host=host)) if "spf1" in r.value]
    assert spf.value == "v=spf1 mx ~all"
    assert f"SMTP_HOST={host} is this machine's loopback" in spf.note
    assert "public address" in spf.note


def test_an_unreadable_dkim_key_still_gives_spf_and_dmarc(tmp_path: Path) -> None:
    """Before: doctor printed no DNS record at all when the key file could not be read."""
    config = settings(dkim_selector="mail2026", dkim_private_key_path=tmp_path / "missing.pem")
    checks, records = check_dkim(config)
    assert [r.value.split(";")[0].split()[0] for r in records] == ["v=spf1", "v=DMARC1"]
    [failed] = [c for c in checks if c.status == "FAIL"]
    assert failed.name == "dkim" and "cannot read" in failed.detail
    with pytest.raises(SettingsError):
        dns_records(config)


def test_spf_for_maildir_names_only_mx() -> None:
    assert dns_records(settings(delivery="maildir"))[0].value == "v=spf1 mx ~all"


async def test_each_source_url_is_asked_once(http_server: str) -> None:
    down = f"http://127.0.0.1:{free_port()}/api"
    config = settings(
        sources='hf_daily,arxiv_rss:cs.LG,arxiv_api:cat:cs.LG,arxiv_api:all:"bandits",sample',
        hf_daily_url=f"{http_server}/health",
        arxiv_rss_url=f"{http_server}/rss",
        arxiv_api_url=down,
        http_timeout=5,
    )
    assert source_urls(config) == {
        "hf_daily": f"{http_server}/health",
        "arxiv_rss:cs.LG": f"{http_server}/rss/cs.LG",
        "arxiv_api:cat:cs.LG": down,
    }
    found = {c.name: c for c in await check_sources(config)}
    assert list(found) == [
        "source hf_daily",
        "source arxiv_rss:cs.LG",
        "source arxiv_api:cat:cs.LG",
    ]
    assert found["source hf_daily"].status == "ok"
    assert found["source arxiv_rss:cs.LG"].line.startswith(
        f"FAIL  source arxiv_rss:cs.LG: {http_server}/rss/cs.LG: HTTP 404 -> fix: check"
    )
    assert found["source arxiv_api:cat:cs.LG"].status == "FAIL"
    assert found["source arxiv_api:cat:cs.LG"].detail.startswith(f"{down}: ")
    assert await check_sources(settings(sources="sample")) == [
        Check("sources", "skip", "no source uses the network")
    ]
