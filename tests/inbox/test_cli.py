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


@pytest.mark.parametrize(
    ("setting", "command"),
    [
        ("NEWSLETTER_SUBSCRIBE_LIMIT_PER_IP", ["subscribers", "list"]),
        # status reads only its own settings (newsletter.status_settings), by the same rules
        ("NEWSLETTER_RUN_TIMEOUT", ["status"]),
    ],
)
def test_a_bad_setting_value_is_a_usage_error_exit_2(
    setting: str, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """README, exit statuses: 2 is a usage or settings error, whichever command reads it."""
    monkeypatch.setenv(setting, "abc")
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", *command])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1].startswith(f"error: setting {setting}:")
