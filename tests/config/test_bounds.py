"""Every number a setting takes is finite and bounded (issue 12, item 10): a value that
validates must not overflow later (``WORKER_LEASE=inf``, ``LOCK_TTL=1e12``...)."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

import pytest
from annotated_types import Ge, Gt, Le, Lt
from click.testing import CliRunner

from newsletter.cli import main
from newsletter.config import Settings, load_settings, settings_env_names
from newsletter.errors import SettingsError


def _numeric(annotation: Any) -> bool:
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_numeric(a) for a in get_args(annotation) if a is not type(None))
    return annotation in (int, float)


NUMERIC = sorted(name for name, f in Settings.model_fields.items() if _numeric(f.annotation))


def test_there_are_numeric_settings_to_check() -> None:
    assert {"worker_lease", "lock_ttl", "give_up_after_hours", "smtp_port"} <= set(NUMERIC)


@pytest.mark.parametrize("name", NUMERIC)
def test_every_numeric_setting_has_both_bounds(name: str) -> None:
    metadata = Settings.model_fields[name].metadata
    assert any(isinstance(m, (Ge, Gt)) for m in metadata), f"{name}: no lower bound"
    assert any(isinstance(m, (Le, Lt)) for m in metadata), f"{name}: no upper bound"


@pytest.mark.parametrize("name", NUMERIC)
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "-1e308", "1e400"])
def test_non_finite_and_huge_values_are_a_settings_error(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = settings_env_names()[name]
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    assert caught.value.setting == env and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("WORKER_LEASE", "inf", ("send", "--retry")),
        ("WORKER_LEASE", "1e308", ("send", "--retry")),
        ("LOCK_TTL", "1e12", ("run", "--date", "2026-11-26")),
        ("GIVE_UP_AFTER_HOURS", "1e308", ("status", "--check")),
    ],
)
def test_the_cli_names_the_setting_in_one_line(
    setting: str, value: str, command: tuple[str, ...]
) -> None:
    result = CliRunner().invoke(
        main,
        ["--env-file", "/dev/null", *command],
        env={
            f"NEWSLETTER_{setting}": value,
            "NEWSLETTER_SOURCES": "sample",
            "NEWSLETTER_SECRET_KEY": "bounds-key",
        },
    )
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.exception
    assert result.stderr.startswith(f"error: setting NEWSLETTER_{setting}: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("NEWSLETTER_WORKER_LEASE", "1e-300"),  # renewed every third of it: a busy loop
        ("NEWSLETTER_WORKER_LEASE", "0.5"),
        ("NEWSLETTER_LOCK_TTL", "1e-9"),  # every lock stale at once: runs overlap
        ("NEWSLETTER_LOCK_TTL", "59"),
    ],
)
def test_durations_too_short_to_work_are_a_settings_error(
    setting: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(setting, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    assert caught.value.setting == setting and "greater than or equal to" in str(caught.value)
