from __future__ import annotations

from click.testing import CliRunner

from newsletter.cli import main


def test_inbox_without_imap_host_is_one_clear_error() -> None:
    result = CliRunner().invoke(main, ["--env-file", "/dev/null", "inbox"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "error: setting NEWSLETTER_IMAP_HOST: not set: there is no reply mailbox to read"
    )


def test_serve_documents_proxy_options() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--proxy-headers" in result.output and "--forwarded-allow-ips" in result.output
