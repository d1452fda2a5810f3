"""The CSV library behind ``subscribers import|export``, called directly on a real store."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.errors import InputError
from newsletter.models import Profile
from newsletter.ops.subscribers_csv import CsvRow, ImportResult, export_csv, import_rows, parse_csv
from newsletter.store import subscribers
from newsletter.store.db import Store

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_parse_reads_any_column_order_and_cleans_rows() -> None:
    text = (
        "Topics,EMAIL,name,extra\nbandits; RL ,Ada@Example.org, Ada Lovelace ,x\n,b@example.org,,\n"
    )
    assert parse_csv(text, "list.csv") == [
        CsvRow("Ada@example.org", "Ada Lovelace", ("bandits", "RL")),
        CsvRow("b@example.org", "", ()),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mail,name\na@example.org,A\n", "list.csv: the header must name an 'email' column"),
        ("email\na@example.org\nnot-an-address\n", "list.csv, line 3: "),
        ("email\na@example.org\nA@EXAMPLE.org\n", "list.csv, line 3: A@example.org appears twice"),
    ],
)
def test_parse_names_the_bad_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_csv(text, "list.csv")
    assert message in str(caught.value)


def test_import_adds_new_rows_and_leaves_listed_ones_alone(store: Store) -> None:
    with store.begin() as conn:
        gone = subscribers.add(conn, "gone@example.org", now=NOW)
        subscribers.set_status(conn, gone.id, "unsubscribed", now=NOW)
        rows = parse_csv("email,topics\nGONE@example.org,x\nnew@example.org,graphs\n", "f")
        assert import_rows(conn, rows, now=NOW) == ImportResult(added=1, skipped=1)
        new = subscribers.require_by_email(conn, "new@example.org")
        assert subscribers.get(conn, gone.id).status == "unsubscribed"
    assert (new.status, new.topics) == ("active", ("graphs",))


def test_an_export_parses_back_to_its_rows(store: Store) -> None:
    with store.begin() as conn:
        subscribers.add(conn, "ada@example.org", now=NOW, name="Ada, L.", profile=Profile(("rl",)))
        subscribers.add(conn, "bo@example.org", now=NOW, profile=Profile(("a b", "c")))
        exported = export_csv(subscribers.list_all(conn))
    assert exported.splitlines()[0] == "email,name,topics,status"
    assert '"Ada, L."' in exported
    rows = parse_csv(exported, "export.csv")
    assert rows == [
        CsvRow("ada@example.org", "Ada, L.", ("rl",)),
        CsvRow("bo@example.org", "", ("a b", "c")),
    ]
