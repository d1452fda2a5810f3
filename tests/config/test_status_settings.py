"""The small settings reader of ``newsletter status`` (``newsletter.status_settings``) and
``newsletter.config.Settings`` agree: same values from the same file and variables, and the
same one-line error for the same bad value or damaged file."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from newsletter.config import Settings, load_settings
from newsletter.errors import SettingsError
from newsletter.status_settings import FIELDS, StatusSettings, load_status_settings

NAMES = list(StatusSettings.__slots__)

# Values for each setting status reads: good ones and bad ones, spelled as people do.
VALUES = {
    "RUN_TIMEOUT": [
        "abc",
        "0",
        "-1",
        "1e9",
        "inf",
        "-inf",
        "nan",
        " 5 ",
        "1_000",
        "5.",
        ".5",
        "0x10",
        "",
        "+3",
        "1e3",
        "1e",
        "_1",
        "1__0",
        "604800",
        "604800.5",
        "Infinity",
        "3600.000",
        "1E2",
    ],
    "GIVE_UP_AFTER_HOURS": ["3000", "0", "2160", "0.1", "72h"],
    "MISSING_SOURCE_WAIT_HOURS": ["24", "-1", "0", "23", "-0"],
    "VERP": ["yes", "TRUE", "On", "2", "", " true", "T", "no", "OFF", "f", "N", "0", "1"],
    "SCHEDULE": ["Daily", "x", "", " daily", "weekly", "weekdays"],
    "WEEKLY_DAY": ["mon", "Sun", "fri", "friday"],
    "TIMEZONE": ["Mars/X", "", "Europe/Berlin", "America/New_York", "../etc"],
    "LOG_FILE": ["", "run.log", "/tmp/x/y.log"],
    "DATABASE_URL": ["mysql://x", "sqlite:///a.db", "postgresql://u@h/db", "sqlite+pysqlite:///b"],
    "SOURCES": [
        "hf_daily",
        "",
        "nope",
        "arxiv_rss",
        'arxiv_api:all:"a, b",sample',
        "arxiv_rss:cs.LG",
    ],
    "IMAP_HOST": ["", "imap.example.org"],
}


def both(
    env_file: Path | None, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[object, object]:
    """What each reader makes of the same file and variables: the values status reads, or
    the error line."""
    for name in [n for n in __import__("os").environ if n.upper().startswith("NEWSLETTER_")]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    answers: list[object] = []
    for load in (load_settings, load_status_settings):
        try:
            settings = load(env_file)
            answers.append({f: getattr(settings, f) for f in NAMES} | {"verp?": settings.uses_verp})
        except SettingsError as exc:
            answers.append(("error", type(exc).__name__, str(exc)))
    return answers[0], answers[1]


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in VALUES.items() for value in values]
)
def test_each_value_as_a_variable(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    full, light = both(None, {f"NEWSLETTER_{name}": value}, monkeypatch)
    assert light == full


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in VALUES.items() for value in values]
)
def test_each_value_in_the_file(
    name: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "settings.env"
    env_file.write_text(
        f'NEWSLETTER_{name}="{value}"\n# a comment\nexport NEWSLETTER_LIST_NAME=x\n'
    )
    full, light = both(env_file, {}, monkeypatch)
    assert light == full


def test_variables_win_over_the_file_in_any_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "settings.env"
    env_file.write_text(
        "newsletter_timezone=Europe/Paris\nNEWSLETTER_SCHEDULE=weekly\nNEWSLETTER_VERP\n"
        "NEWSLETTER_RUN_TIMEOUT = 60 # seconds\nNEWSLETTER_SOURCES='sample'\n"
    )
    full, light = both(
        env_file, {"NEWSLETTER_SCHEDULE": "weekdays", "newsletter_imap_host": "h"}, monkeypatch
    )
    assert light == full
    assert isinstance(light, dict) and light["timezone"] == "Europe/Paris"
    assert light["schedule"] == "weekdays" and light["run_timeout"] == 60.0 and light["verp?"]


def test_the_first_bad_setting_is_the_one_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "NEWSLETTER_RUN_TIMEOUT": "x",
        "NEWSLETTER_TIMEZONE": "Nowhere/X",
        "NEWSLETTER_SCHEDULE": "y",
    }
    full, light = both(None, env, monkeypatch)
    assert light == full
    assert isinstance(light, tuple) and "NEWSLETTER_TIMEZONE" in light[2]


@pytest.mark.parametrize(
    "content",
    [
        b"NEWSLETTER_LIST_NAME=Papers\nNEWSLETTER_POSTAL_ADDRESS=Hauptstra\xdfe 5, Berlin\n",
        b"\xff\xfeN\x00E\x00",
        b'NEWSLETTER_TIMEZONE=UTC\n\x00\x00garbage"unclosed\nNEWSLETTER_SCHEDULE=weekly\n',
        b"NEWSLETTER_TIMEZONE='unclosed\nNEWSLETTER_SCHEDULE=weekly\n",
        b"=\n==\n'\nNEWSLETTER_SCHEDULE\t=\tweekly\n",
    ],
)
def test_a_damaged_file(content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "damaged.env"
    env_file.write_bytes(content)
    full, light = both(env_file, {}, monkeypatch)
    assert light == full


def test_an_unreadable_file_and_one_that_is_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "secret.env"
    env_file.write_text("NEWSLETTER_SCHEDULE=weekly\n")
    env_file.chmod(0)
    try:
        full, light = both(env_file, {}, monkeypatch)
        assert light == full
    finally:
        env_file.chmod(0o600)
    assert both(tmp_path, {}, monkeypatch)[1] == both(tmp_path, {}, monkeypatch)[0]
    assert (
        both(Path("/dev/null"), {}, monkeypatch)[1] == both(Path("/dev/null"), {}, monkeypatch)[0]
    )


def test_the_rules_are_settings_own_defaults_bounds_choices_and_order() -> None:
    """A default, bound or choice changed on ``Settings`` and not here fails at once (the
    value tests above only catch it where a value straddles the change)."""
    fields = Settings.model_fields
    assert list(FIELDS) == [name for name in fields if name in FIELDS]  # first error first
    for name, (default, check) in FIELDS.items():
        field = fields[name]
        assert field.default == default, name
        bounds = {type(m).__name__: getattr(m, type(m).__name__.lower()) for m in field.metadata}
        if hasattr(check, "high"):
            low = "gt" if check.low_open else "ge"
            assert bounds == {low.capitalize(): check.low, "Le": check.high}, name
        else:
            assert not bounds, name
        if hasattr(check, "choices"):
            assert typing.get_args(field.annotation) == check.choices, name
