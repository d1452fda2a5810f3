"""The CSV library behind ``subscribers import|export``, called directly on a real store."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.errors import InputError
from newsletter.models import Profile
from newsletter.ops.subscribers_csv import (
    CsvRow,
    ImportResult,
    export_csv,
    import_rows,
    parse_csv,
)
from newsletter.store import subscribers
from newsletter.store.db import Store

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_parse_reads_any_column_order_and_cleans_rows() -> None:
    text = (
        "Topics,EMAIL,name,extra\nbandits; RL ,Ada@Example.org, Ada Lovelace ,x\n,b@example.org,,\n"
    )
    assert parse_csv(text, "list.csv") == [
        CsvRow("Ada@example.org", "Ada Lovelace", Profile(topics=("bandits", "RL"))),
        CsvRow("b@example.org"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("mail,name\na@example.org,A\n", "list.csv: the header must name an 'email' column"),
        ("email\na@example.org\nnot-an-address\n", "list.csv, line 3: "),
        ("email\na@example.org\nA@EXAMPLE.org\n", "list.csv, line 3: A@example.org appears twice"),
        ("email,status\na@example.org,gone\n", "list.csv, line 2: status: unknown status 'gone'"),
        ("email,frequency\na@example.org,hourly\n", "line 2: frequency: unknown frequency"),
        ("email,paused_until\na@example.org,soon\n", "line 2: paused_until: not a date"),
        (b"email,name\na@example.org,\x81\x8d\n", "list.csv: not UTF-8 or Windows-1252 text"),
    ],
)
def test_parse_names_the_bad_line(data: str | bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_csv(data, "list.csv")
    assert message in str(caught.value)


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_parse_sniffs_the_separator(separator: str) -> None:
    text = separator.join(["email", "name", "topics"]) + "\n"
    text += separator.join(["a@example.org", "A", '"x;y"' if separator == ";" else "x;y"]) + "\n"
    assert parse_csv(text, "f") == [CsvRow("a@example.org", "A", Profile(topics=("x", "y")))]


def test_parse_reads_utf8_with_a_bom_and_windows_1252() -> None:
    utf8 = "\ufeffemail,name\nzoe@example.org,Zoë\n".encode()
    excel = "email,name\nrene@example.org,René\n".encode("cp1252")
    assert parse_csv(utf8, "f") == [CsvRow("zoe@example.org", "Zoë")]
    assert parse_csv(excel, "f") == [CsvRow("rene@example.org", "René")]


def test_import_adds_new_rows_and_leaves_listed_ones_alone(store: Store) -> None:
    with store.begin() as conn:
        gone = subscribers.add(conn, "gone@example.org", now=NOW)
        subscribers.set_status(conn, gone.id, "unsubscribed", now=NOW)
        rows = parse_csv("email,topics\nGONE@example.org,x\nnew@example.org,graphs\n", "f")
        assert import_rows(conn, rows, now=NOW) == ImportResult(added=1, skipped=1)
        new = subscribers.require_by_email(conn, "new@example.org")
        assert subscribers.get(conn, gone.id).status == "unsubscribed"
    assert (new.status, new.topics) == ("active", ("graphs",))


def test_unsubscribed_and_bounced_rows_stay_so_unless_reactivated(store: Store) -> None:
    text = (
        "email,status\nu@example.org,unsubscribed\nb@example.org,bounced\np@example.org,pending\n"
    )
    with store.begin() as conn:
        kept = import_rows(conn, parse_csv(text, "f"), now=NOW)
        statuses = [s.status for s in subscribers.list_all(conn)]
    assert kept == ImportResult(added=3, skipped=0, inactive=2)
    assert statuses == ["unsubscribed", "bounced", "pending"]
    with store.begin() as conn:
        for sub in subscribers.list_all(conn):
            subscribers.remove(conn, sub.email)
        again = import_rows(conn, parse_csv(text, "f"), now=NOW, reactivate=True)
        statuses = [s.status for s in subscribers.list_all(conn)]
    assert again == ImportResult(added=3, skipped=0, inactive=0)
    assert statuses == ["active", "active", "pending"]


def test_an_export_parses_back_to_its_rows(store: Store) -> None:
    profile = Profile(("a b", "c"), ("cs.LG",), ("Ada Lovelace",), ("survey",))
    with store.begin() as conn:
        subscribers.add(conn, "ada@example.org", now=NOW, name="Ada, L.", profile=Profile(("rl",)))
        bo = subscribers.add(conn, "bo@example.org", now=NOW, profile=profile)
        subscribers.update_fields(
            conn,
            bo.id,
            now=NOW,
            status="paused",
            frequency="weekly",
            paused_until=dt.date(2027, 1, 4),
        )
        exported = export_csv(subscribers.list_all(conn))
    assert '"Ada, L."' in exported
    assert parse_csv(exported, "export.csv") == [
        CsvRow("ada@example.org", "Ada, L.", Profile(("rl",))),
        CsvRow("bo@example.org", "", profile, "paused", "weekly", dt.date(2027, 1, 4)),
    ]
