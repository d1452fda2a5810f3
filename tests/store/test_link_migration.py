"""Upgrading a database made by the old code (m030, m031): old emails keep working for the
people they were sent to, and for no one else.

``fixtures/main_db.sql`` and ``fixtures/main_links.json`` were made by ``main`` at 680636a
through its CLI (see ``fixtures/make_main_db.py``): ada and grace got a digest; carol got
one, collected a bounce score and was removed; dave then got carol's id; erin is pending.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from newsletter.config import Settings
from newsletter.errors import TokenError
from newsletter.links import Links
from newsletter.models import Message, Subscriber
from newsletter.store import inbox as events
from newsletter.store import migrations, schema, subscribers
from newsletter.store.db import Store
from newsletter.tokens import Signer
from newsletter.web import create_app
from tests.support.databases import fresh_postgres_schema
from tests.support.forms import csrf_of

FIXTURES = Path(__file__).parent / "fixtures"
MADE = json.loads((FIXTURES / "main_links.json").read_text())
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _old_database(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript((FIXTURES / "main_db.sql").read_text())
    return f"sqlite:///{path}"


@pytest.fixture
def old_url(tmp_path: Path) -> str:
    return _old_database(tmp_path / "old.db")


@pytest.fixture
def upgraded(old_url: str) -> Iterator[Store]:
    store = Store.open(old_url, now=NOW)
    yield store
    store.close()


@pytest.fixture
def links() -> Links:
    return Links(MADE["base_url"], Signer.from_secrets(MADE["secret_key"]), "papers@example.org")


def _by_email(store: Store, email: str) -> Subscriber:
    with store.begin() as conn:
        return subscribers.require_by_email(conn, email)


def _subscriber_for(store: Store, links: Links, purpose: str, url: str, now: dt.datetime) -> int:
    with store.begin() as conn:
        token = url.rsplit("/", 1)[1]
        return links.subscriber_for(purpose, token, lambda i: subscribers.find(conn, i), now).id


def _reply_for(store: Store, links: Links, address: str) -> tuple[int, str, int | None]:
    token = re.sub(r"^(mailto:)?papers\+[a-z]+-|@.*$", "", address)
    with store.begin() as conn:
        found, command, event = links.reply_for(token, lambda i: subscribers.find(conn, i), NOW)
    return found.id, command, event


def test_the_fixture_shows_the_old_hole(old_url: str) -> None:
    """On the old schema dave holds carol's id, and with it her bounce history."""
    path = old_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        table = conn.execute("SELECT sql FROM sqlite_master WHERE name='subscribers'").fetchone()
        (dave_id,) = conn.execute(
            "SELECT id FROM subscribers WHERE email='dave@example.org'"
        ).fetchone()
        inherited = conn.execute(
            "SELECT count(*) FROM inbox_events WHERE subscriber_id = ?", (dave_id,)
        ).fetchone()
    assert "AUTOINCREMENT" not in table[0].upper()
    assert dave_id == MADE["ids"]["carol"] and inherited[0] > 0


def test_upgrade_keeps_old_links_for_their_holders(upgraded: Store, links: Links) -> None:
    ada = _by_email(upgraded, "ada@example.org")
    mail = MADE["emails"]["ada@example.org"]
    for purpose in ("unsubscribe", "preferences"):
        assert _subscriber_for(upgraded, links, purpose, mail[purpose], NOW) == ada.id
    with upgraded.begin() as conn:
        find = lambda i: subscribers.find(conn, i)  # noqa: E731
        feedback = [links.feedback_for(u.rsplit("/", 1)[1], find, NOW) for u in mail["feedback"]]
        assert [(s.id, signal) for s, _, signal in feedback] == [(ada.id, 1), (ada.id, -1)]
        verp = MADE["ada_verp"].partition("+")[2].partition("@")[0]
        assert links.subscriber_for("bounce", verp, find, NOW).id == ada.id
        assert events.was_sent(conn, ada.id, {mail["message_id"]})
    assert _reply_for(upgraded, links, mail["reply_to"]) == (ada.id, "reply", None)
    mailto = mail["list_unsubscribe_mailto"].partition("?")[0]
    assert _reply_for(upgraded, links, mailto) == (ada.id, "unsubscribe", None)
    dave = _by_email(upgraded, "dave@example.org")
    assert _subscriber_for(upgraded, links, "unsubscribe", MADE["dave_unsubscribe"], NOW) == dave.id
    assert _reply_for(upgraded, links, MADE["dave_reply_to"])[0] == dave.id


def test_upgrade_ends_the_removed_readers_links(upgraded: Store, links: Links) -> None:
    """carol's links were issued before dave's row existed: never dave's."""
    carol = MADE["emails"]["carol@example.org"]
    for purpose in ("unsubscribe", "preferences"):
        with pytest.raises(TokenError):
            _subscriber_for(upgraded, links, purpose, carol[purpose], NOW)
    for address in (carol["reply_to"], carol["list_unsubscribe_mailto"].partition("?")[0]):
        with pytest.raises(TokenError):
            _reply_for(upgraded, links, address)
    with pytest.raises(TokenError), upgraded.begin() as conn:
        verp = MADE["carol_verp"].partition("+")[2].partition("@")[0]
        links.subscriber_for("bounce", verp, lambda i: subscribers.find(conn, i), NOW)
    dave = _by_email(upgraded, "dave@example.org")
    with upgraded.begin() as conn:
        assert events.last_bounce_at(conn, dave.id) is None  # carol's history went


def test_old_confirmation_link_lives_its_seven_days(upgraded: Store, links: Links) -> None:
    erin = _by_email(upgraded, "erin@example.org")
    assert erin.created_at is not None
    soon, late = erin.created_at + dt.timedelta(hours=1), erin.created_at + dt.timedelta(days=8)
    assert _subscriber_for(upgraded, links, "confirm", MADE["erin_confirm"], soon) == erin.id
    with pytest.raises(TokenError, match="expired"):
        _subscriber_for(upgraded, links, "confirm", MADE["erin_confirm"], late)


def test_ids_are_never_reused_after_the_upgrade(upgraded: Store) -> None:
    with upgraded.begin() as conn:
        table = conn.execute(text("SELECT sql FROM sqlite_master WHERE name='subscribers'"))
        assert "AUTOINCREMENT" in str(table.scalar()).upper()
        top = max(conn.execute(select(schema.subscribers.c.id)).scalars())
        newest = subscribers.add(conn, "zoe@example.org", now=NOW)
        subscribers.remove(conn, newest.email)
        again = subscribers.add(conn, "zed@example.org", now=NOW)
    assert top < newest.id < again.id


def test_new_links_use_the_new_format(upgraded: Store, links: Links) -> None:
    ada = _by_email(upgraded, "ada@example.org")
    assert ada.legacy_tokens and len(ada.token_nonce) == 32
    fresh = links.unsubscribe(ada).rsplit("/", 1)[1]
    assert re.fullmatch(r"[a-z2-7]+", fresh)
    assert _subscriber_for(upgraded, links, "unsubscribe", links.unsubscribe(ada), NOW) == ada.id
    with upgraded.begin() as conn:
        newcomer = subscribers.add(conn, "new@example.org", now=NOW)
    assert not newcomer.legacy_tokens and newcomer.token_nonce != ada.token_nonce


def test_migrations_run_again_change_nothing(upgraded: Store) -> None:
    def state() -> list[Any]:
        with upgraded.begin() as conn:
            rows = conn.execute(select(schema.subscribers).order_by(schema.subscribers.c.id))
            counted = conn.execute(text("SELECT count(*) FROM inbox_events")).scalar()
            return [*map(tuple, rows), counted]

    before = state()
    with upgraded._migrating() as conn:
        migrations.m030_subscriber_token_nonce(conn)
        migrations.m031_subscriber_ids_never_reused(conn)
        migrations.m032_subscriber_token_nonce_default(conn)
    assert state() == before


async def test_old_email_links_work_through_the_web_app(upgraded: Store, links: Links) -> None:
    """ada uses her pre-upgrade email; carol's links, replayed, do nothing to dave."""
    settings = Settings(_env_file=None, base_url=MADE["base_url"], secret_key=MADE["secret_key"])

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    app = create_app(settings, upgraded, links.signer, send=send, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    ada, carol = MADE["emails"]["ada@example.org"], MADE["emails"]["carol@example.org"]
    async with httpx.AsyncClient(transport=transport, base_url=MADE["base_url"]) as client:
        page = await client.get(ada["preferences"])
        assert page.status_code == 200
        saved = await client.post(
            ada["preferences"], data={"action": "save", "topics": "bandits", "csrf": csrf_of(page)}
        )
        assert saved.status_code == 200
        assert (await client.post(ada["feedback"][0])).status_code == 200
        assert (await client.post(carol["unsubscribe"])).status_code == 400
        assert (await client.get(carol["preferences"])).status_code == 400
        assert (await client.post(ada["unsubscribe"])).status_code == 200
    after = _by_email(upgraded, "ada@example.org")
    assert (after.status, after.topics) == ("unsubscribed", ("bandits",))
    assert _by_email(upgraded, "dave@example.org").status == "active"
    assert [(m.to, m.subject) for m in sent] == [  # the goodbye, and nothing to dave
        ("ada@example.org", "You are unsubscribed from Daily Papers")
    ]


def _old_token(key: str, purpose: str, value: str, issued: dt.datetime) -> str:
    """A token as the old code signed it (version 0), for a database it never saw."""
    payload = f"{value}|{int(issued.timestamp()):x}".encode()
    mac = hmac.digest(key.encode(), purpose.encode() + b"\x00" + payload, "sha256")[:16]
    encode = base64.urlsafe_b64encode
    return f"{encode(payload).rstrip(b'=').decode()}.{encode(mac).rstrip(b'=').decode()}"


def test_upgrade_on_postgresql_keeps_old_links(links: Links) -> None:
    """The same two migrations on PostgreSQL, from the schema the old code made."""
    with fresh_postgres_schema() as url:
        store = Store.open(url, now=NOW)
        with store.begin() as conn:
            conn.execute(text("ALTER TABLE subscribers DROP COLUMN token_nonce"))
            conn.execute(text("ALTER TABLE subscribers DROP COLUMN legacy_tokens"))
            conn.execute(text("DELETE FROM migrations WHERE name LIKE 'm03%'"))
            conn.execute(
                text(
                    "INSERT INTO subscribers (email, name, topics, categories, authors, exclude,"
                    " status, frequency, bounce_score, created_at, updated_at) VALUES"
                    " ('ada@example.org', '', '[]', '[]', '[]', '[]', 'active', 'daily', 0,"
                    " :made, :made)"
                ),
                {"made": NOW - dt.timedelta(days=30)},
            )
        store.close()
        old = _old_token(MADE["secret_key"], "unsubscribe", "1", NOW - dt.timedelta(days=2))
        store = Store.open(url, now=NOW)
        try:
            assert store.pending_migrations() == []
            ada = _by_email(store, "ada@example.org")
            assert ada.legacy_tokens and ada.token_nonce
            assert _subscriber_for(store, links, "unsubscribe", f"x/{old}", NOW) == ada.id
            with store.begin() as conn:
                subscribers.remove(conn, ada.email)
                newcomer = subscribers.add(conn, "new@example.org", now=NOW)
            assert newcomer.id != ada.id
            with pytest.raises(TokenError):
                _subscriber_for(store, links, "unsubscribe", f"x/{old}", NOW)
        finally:
            store.close()
