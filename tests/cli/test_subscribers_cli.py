from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import main
from newsletter.models import Profile
from newsletter.store import subscribers
from newsletter.store.db import Store

DAY = dt.date(2027, 1, 4)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", *args])
    return result.exit_code, result.stdout, result.stderr


def test_add_list_topics_remove_roundtrip() -> None:
    code, out, _ = invoke(
        "subscribers",
        "add",
        "ada@example.org",
        "--name",
        "Ada",
        "--topic",
        "test-time adaptation",
        "--category",
        "cs.LG",
        "--exclude",
        "survey",
    )
    assert code == 0
    assert (
        out
        == "added ada@example.org (active; topics: test-time adaptation | categories: cs.LG | exclude: survey)\n"
    )

    code, out, _ = invoke(
        "subscribers",
        "topics",
        "ada@example.org",
        "--topic",
        "LoRA",
        "--remove",
        "test-time adaptation",
    )
    assert code == 0
    assert out == "ada@example.org: topics: LoRA | categories: cs.LG | exclude: survey\n"

    code, out, _ = invoke("subscribers", "list", "--json")
    listed = json.loads(out)
    assert [(s["email"], s["topics"], s["status"]) for s in listed] == [
        ("ada@example.org", ["LoRA"], "active")
    ]

    assert invoke("subscribers", "remove", "ada@example.org")[:2] == (
        0,
        "removed ada@example.org\n",
    )
    assert invoke("subscribers", "list")[1] == "no subscribers\n"
    # The database was created at the documented default location.
    assert Path("subscribers/newsletter.db").is_file()


def test_duplicate_and_bad_address_are_one_line_errors() -> None:
    assert invoke("subscribers", "add", "a@example.org")[0] == 0
    code, out, err = invoke("subscribers", "add", "a@example.org")
    assert (code, out, err) == (1, "", "error: email: a@example.org is already on the list\n")
    code, _, err = invoke("subscribers", "add", "a@example.org\r\nBcc: x@evil.test")
    assert code == 1
    assert err.startswith("error: email: not a valid email address")
    assert err.count("\n") == 1


def test_import_checks_every_row_first_and_export_roundtrips(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,topics\nok@example.org,Ok,a;b\nnot-an-address,X,c\n")
    code, _, err = invoke("subscribers", "import", str(bad))
    assert code == 1
    assert "bad.csv, line 3" in err
    code, out, err = invoke("subscribers", "list")  # nothing half-imported: no database yet
    assert (code, out) == (2, "")
    assert err.startswith("error: no database at")

    good = tmp_path / "good.csv"
    good.write_text(
        "Email,Name,Topics\nok@example.org,Ok,LoRA; robot manipulation ;\nb@example.org,,\n"
    )
    code, out, _ = invoke("subscribers", "import", str(good))
    assert (code, out) == (0, f"imported 2 subscribers from {good} (0 already on the list)\n")
    code, out, _ = invoke("subscribers", "import", str(good))
    assert out.endswith("(2 already on the list)\n")

    code, out, _ = invoke("subscribers", "export")
    assert out.splitlines() == [
        "email,name,status,frequency,paused_until,topics,categories,authors,exclude",
        "ok@example.org,Ok,active,daily,,LoRA;robot manipulation,,,",
        "b@example.org,,active,daily,,,,,",
    ]


def test_an_export_imports_back_with_every_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Status included: an unsubscribed or bounced reader stays so unless --reactivate."""
    assert invoke("subscribers", "add", "ada@example.org", "--name", "Ada")[0] == 0
    for email in ("bo@example.org", "cy@example.org"):
        assert invoke("subscribers", "add", email)[0] == 0
    now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    store = Store.open("sqlite:///subscribers/newsletter.db", now=now)
    with store.begin() as conn:
        ada = subscribers.require_by_email(conn, "ada@example.org")
        subscribers.set_profile(
            conn, ada.id, Profile(("bandits", "RL"), ("cs.LG",), ("Sutton",), ("survey",)), now=now
        )
        subscribers.update_fields(
            conn, ada.id, now=now, frequency="weekly", status="paused", paused_until=DAY
        )
        subscribers.set_status(conn, 2, "unsubscribed", now=now)
        subscribers.set_status(conn, 3, "bounced", now=now)
    store.close()
    exported = tmp_path / "list.csv"
    assert invoke("subscribers", "export", str(exported))[0] == 0
    assert exported.read_text().splitlines()[1:] == [
        "ada@example.org,Ada,paused,weekly,2027-01-04,bandits;RL,cs.LG,Sutton,survey",
        "bo@example.org,,unsubscribed,daily,,,,,",
        "cy@example.org,,bounced,daily,,,,,",
    ]

    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", f"sqlite:///{tmp_path / 'restored.db'}")
    code, out, _ = invoke("subscribers", "import", str(exported))
    assert (code, out) == (
        0,
        f"imported 3 subscribers from {exported} (0 already on the list);"
        " 2 of them unsubscribed or bounced, as in the file\n",
    )
    again = tmp_path / "again.csv"
    assert invoke("subscribers", "export", str(again))[0] == 0
    assert again.read_text() == exported.read_text()

    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", f"sqlite:///{tmp_path / 'asked.db'}")
    assert invoke("subscribers", "import", "--reactivate", str(exported))[0] == 0
    code, out, _ = invoke("subscribers", "list", "--json")
    assert [s["status"] for s in json.loads(out)] == ["paused", "active", "active"]


def test_excel_files_import_windows_1252_and_semicolons(tmp_path: Path) -> None:
    excel = tmp_path / "excel.csv"
    excel.write_bytes(
        'email;name;topics\r\nrene@example.org;René Müller;"café;ML"\r\n'.encode("cp1252")
    )
    code, out, err = invoke("subscribers", "import", str(excel))
    assert (code, err) == (0, "")
    code, out, _ = invoke("subscribers", "list", "--json")
    [rene] = json.loads(out)
    assert (rene["name"], rene["topics"]) == ("René Müller", ["café", "ML"])
    tabbed = tmp_path / "tabbed.csv"
    tabbed.write_bytes(b"\xef\xbb\xbfemail\tname\nzoe@example.org\tZo\xc3\xab\n")
    assert invoke("subscribers", "import", str(tabbed))[0] == 0
    code, out, _ = invoke("subscribers", "list", "--json")
    assert [s["name"] for s in json.loads(out)] == ["René Müller", "Zoë"]


def test_bad_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_SMTP_PORT", "not-a-port")
    code, _, err = invoke("subscribers", "list")
    assert code == 2
    assert err.startswith("error: setting NEWSLETTER_SMTP_PORT:")
    assert err.count("\n") == 1
    monkeypatch.setenv("NEWSLETTER_SMTP_PORT", "25")
    monkeypatch.setenv("NEWSLETTER_FROM", "nobody")
    assert invoke("subscribers", "list")[2].startswith("error: setting NEWSLETTER_FROM:")


def test_every_command_has_help() -> None:
    for args in (["--help"], ["subscribers", "--help"], ["subscribers", "add", "--help"]):
        code, out, _ = invoke(*args)
        assert code == 0
        assert "Usage:" in out


def test_export_import_keeps_a_semicolon_in_a_topic_and_the_file_private(tmp_path: Path) -> None:
    """Before: `a; b` came back as two topics, and the export was written 0644."""
    code, _out, err = invoke("subscribers", "add", "u1@example.net", "--topic", "a; b")
    assert code == 0, err
    # `subscribers add --topic` takes one topic per option: "a; b" is one topic with a ';'.
    [first] = json.loads(invoke("subscribers", "list", "--json")[1])
    assert first["topics"] == ["a; b"]
    code, _out, err = invoke("subscribers", "add", "u2@example.net", "--author", "O\\Brien;x")
    assert code == 0, err
    before = json.loads(invoke("subscribers", "list", "--json")[1])
    exported = tmp_path / "list.csv"
    assert invoke("subscribers", "export", str(exported))[0] == 0
    assert exported.stat().st_mode & 0o777 == 0o600
    assert "a\\; b" in exported.read_text()
    for email in ("u1@example.net", "u2@example.net"):
        assert invoke("subscribers", "remove", email)[0] == 0
    code, _out, err = invoke("subscribers", "import", str(exported))
    assert code == 0, err
    after = json.loads(invoke("subscribers", "list", "--json")[1])
    strip = [{k: v for k, v in row.items() if k not in ("id", "created_at")} for row in before]
    assert [
        {k: v for k, v in row.items() if k not in ("id", "created_at")} for row in after
    ] == strip


def test_list_and_show_print_a_semicolon_in_a_topic_escaped() -> None:
    """Before: a topic "a; b" printed as "a; b", the same as the two topics "a" and "b"."""
    assert invoke("subscribers", "add", "one@example.net", "--topic", "a; b")[0] == 0
    args = ("subscribers", "add", "two@example.net", "--topic", "a", "--topic", "b")
    assert invoke(*args)[0] == 0
    _code, listed, _err = invoke("subscribers", "list")
    [one] = [line for line in listed.splitlines() if "one@example.net" in line]
    [two] = [line for line in listed.splitlines() if "two@example.net" in line]
    assert "topics: a\\; b" in one
    assert "topics: a; b" in two
    for email, expected in (("one@example.net", "a\\; b"), ("two@example.net", "a; b")):
        shown = invoke("subscribers", "show", email)[1].splitlines()
        [topics] = [line for line in shown if line.lstrip().startswith("topics:")]
        assert topics.split(":", 1)[1].strip() == expected


def test_a_row_imported_as_unsubscribed_has_a_history_entry(tmp_path: Path) -> None:
    listing = tmp_path / "in.csv"
    listing.write_text("email,status\ngone@example.net,unsubscribed\nhere@example.net,active\n")
    code, _out, err = invoke("subscribers", "import", str(listing))
    assert code == 0, err
    shown = json.loads(invoke("subscribers", "show", "gone@example.net", "--json")[1])
    [change] = shown["history"]
    assert (change["from"], change["to"], change["by"]) == ("imported", "unsubscribed", "import")
    here = json.loads(invoke("subscribers", "show", "here@example.net", "--json")[1])
    assert here["history"] == []


def test_show_gives_times_in_timezone_like_status() -> None:
    """Before: `subscribers show` printed UTC whatever TIMEZONE said."""
    assert invoke("subscribers", "add", "tz@example.net")[0] == 0
    shown = CliRunner().invoke(
        main,
        ["--env-file", "/dev/null", "subscribers", "show", "tz@example.net"],
        env={"NEWSLETTER_TIMEZONE": "Asia/Tokyo"},
    )
    assert shown.exit_code == 0, shown.output
    [added] = [line for line in shown.stdout.splitlines() if "added:" in line]
    assert added.endswith(" JST") and "UTC" not in shown.stdout
