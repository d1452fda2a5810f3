"""Progress: plain log lines off a terminal, a rich bar on a real pseudo-terminal."""

from __future__ import annotations

import io
import logging
import mailbox
import os
import pty
from pathlib import Path

import pytest
from rich.console import Console

from newsletter.cli.progress import BarProgress, make_progress
from newsletter.deliver import MaildirTransport
from newsletter.models import Subscriber
from newsletter.pipeline.progress import PlainProgress, ProgressTransport
from tests.support.delivery import build_message


def test_plain_progress_logs_one_line_per_stage_and_steps_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress = PlainProgress(steps=4)
    with caplog.at_level(logging.DEBUG, logger="newsletter.progress"):
        progress.start("send", total=10)
        for _ in range(10):
            progress.advance()
        progress.done("send: 10 sent (1.2s)")
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert info == ["send: 10 sent (1.2s)"]
    # steps of ceil(10/4) = 3 messages: reported at 3, 6, 9 (and never past the total)
    assert debug == ["send: 3/10", "send: 6/10", "send: 9/10"]


def test_plain_progress_is_silent_at_info_while_advancing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress = PlainProgress()
    with caplog.at_level(logging.INFO, logger="newsletter.progress"):
        progress.start("collect")
        progress.advance(5)
        progress.done("collect: 5 papers (0.3s)")
    assert [r.getMessage() for r in caplog.records] == ["collect: 5 papers (0.3s)"]


def test_choice_follows_the_terminal() -> None:
    assert isinstance(make_progress(io.StringIO()), PlainProgress)
    main_fd, tty_fd = pty.openpty()
    try:
        with os.fdopen(tty_fd, "w", closefd=False) as terminal:
            assert terminal.isatty()
            assert isinstance(make_progress(terminal), BarProgress)
            assert isinstance(make_progress(terminal, quiet=True), PlainProgress)
    finally:
        os.close(tty_fd)
        os.close(main_fd)


def test_bar_draws_then_leaves_the_summary_line() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, color_system=None)
    progress = BarProgress(console)
    progress.start("send", total=3)
    for _ in range(3):
        progress.advance()
    progress.done("send: 3 sent (0.1s)")
    output = screen.getvalue()
    assert "send" in output and "3/3" in output  # the bar was drawn at some point
    assert output.rstrip().endswith("send: 3 sent (0.1s)")


async def test_progress_transport_counts_real_sends(tmp_path: Path) -> None:
    progress = PlainProgress()
    progress.start("send", total=3)
    outbox = tmp_path / "outbox"
    mailbox.Maildir(outbox, create=True)  # tmp/new/cur exist, as after a first run
    people = [Subscriber(id=i, email=f"r{i}@example.org", name=f"R{i}") for i in range(3)]
    async with ProgressTransport(MaildirTransport(outbox, None), progress) as transport:
        results = [await transport.send(build_message(p)) for p in people]
    assert [r.state for r in results] == ["sent"] * 3
    assert progress.completed == 3
    assert len(mailbox.Maildir(outbox, create=False)) == 3
