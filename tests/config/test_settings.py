from __future__ import annotations

import threading
from pathlib import Path

import pytest

from newsletter.config import Settings, load_settings
from newsletter.deliver import open_transport
from newsletter.errors import SettingsError
from newsletter.source_list import parse_sources
from newsletter.store.secret import signer_for


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEWSLETTER_REPLY_ADDRESS", "papers", "not a plain email address"),
        ("NEWSLETTER_REPLY_ADDRESS", "papers+x@example.org", "no '+' in"),
        ("NEWSLETTER_ALERT_EMAIL", "ops at example.org", "not a plain email address"),
        ("NEWSLETTER_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("NEWSLETTER_BASE_URL", "papers.example.org", "must start with http"),
        ("NEWSLETTER_SOURCES", "hf_daily,arxiv_rss", "needs an argument"),
        ("NEWSLETTER_SOURCES", "twitter", "unknown source 'twitter'"),
        ("NEWSLETTER_DELIVERY", "pigeon", "Input should be 'maildir' or 'smtp'"),
    ],
)
def test_a_bad_setting_names_itself_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    assert caught.value.setting == name
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_sources_split_on_commas_outside_quotes() -> None:
    specs = parse_sources('hf_daily, arxiv_rss:cs.LG+cs.CL, arxiv_api:all:"test-time, adaptation"')
    assert [(s.name, s.argument) for s in specs] == [
        ("hf_daily", ""),
        ("arxiv_rss", "cs.LG+cs.CL"),
        ("arxiv_api", 'all:"test-time, adaptation"'),
    ]


def test_an_unclosed_quote_in_sources_is_named() -> None:
    """Before: 'source arxiv_api needs an argument', about a quote never closed."""
    with pytest.raises(ValueError) as caught:
        parse_sources('arxiv_api:"unterminated')
    assert str(caught.value) == (
        "the double quote at character 11 is never closed: 'arxiv_api:\"unterminated'"
    )
    with pytest.raises(SettingsError, match="NEWSLETTER_SOURCES: the double quote at character"):
        load_settings(None, sources='hf_daily,arxiv_api:all:"a, b" OR "c')


def test_an_unreadable_ca_file_is_a_setting_error(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, delivery="smtp", smtp_ca_file=tmp_path / "missing.pem")
    with pytest.raises(SettingsError, match="NEWSLETTER_SMTP_CA_FILE: cannot load"):
        open_transport(settings)


def test_two_first_runs_share_one_generated_key(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'db' / 'n.db'}")
    signed: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: signed.append(signer_for(settings).sign("csrf", None, b"x", now=0))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(signed)) == 1
    assert (tmp_path / "db" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_an_empty_key_file_is_a_setting_error(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'n.db'}")
    with pytest.raises(SettingsError, match="secret_key is empty"):
        signer_for(settings)
