from __future__ import annotations

import pytest
from click.testing import CliRunner

from newsletter.cli import main


def test_inbox_without_imap_host_is_one_clear_error() -> None:
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", "inbox"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "error: setting NEWSLETTER_IMAP_HOST: not set: there is no reply mailbox to read"
    )


def test_serve_documents_proxy_options() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--proxy-headers" in result.output and "--forwarded-allow-ips" in result.output


def test_a_bad_setting_value_is_a_usage_error_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """README, exit statuses: 2 is a usage or settings error, whichever command reads it."""
    monkeypatch.setenv("NEWSLETTER_SUBSCRIBE_LIMIT_PER_IP", "abc")
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", "status"])
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("error: setting NEWSLETTER_SUBSCRIBE_LIMIT_PER_IP:")
    )
