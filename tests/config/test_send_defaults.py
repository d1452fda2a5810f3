"""Defaults that use the machine: one sender per usable core, connections per sender."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.config import CONNECTIONS_PER_PROCESS, Settings
from newsletter.outbox.send import per_process, process_count

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_send_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSLETTER_SEND_PROCESSES")  # the conftest's one process


def test_one_sender_process_per_usable_core_and_four_connections_each() -> None:
    settings = Settings(_env_file=None)
    cores = len(os.sched_getaffinity(0))
    assert settings.send_processes == min(64, cores)
    assert settings.smtp_concurrency == min(64, CONNECTIONS_PER_PROCESS * cores)
    assert per_process(settings).smtp_concurrency == CONNECTIONS_PER_PROCESS


def test_a_process_pinned_to_one_core_sends_with_one_process() -> None:
    """``taskset``, a container's cpuset: the cores this process may use, not the machine's."""
    probe = "from newsletter.config import Settings; s = Settings(_env_file=None); "
    probe += "print(s.send_processes, s.smtp_concurrency)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")},
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
    )
    assert done.stdout.split() == ["1", str(CONNECTIONS_PER_PROCESS)]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NEWSLETTER_SEND_PROCESSES": "3"}, (3, 3 * CONNECTIONS_PER_PROCESS)),
        ({"NEWSLETTER_SMTP_CONCURRENCY": "5"}, (None, 5)),
        ({"NEWSLETTER_SEND_PROCESSES": "1", "NEWSLETTER_SMTP_CONCURRENCY": "2"}, (1, 2)),
        ({"NEWSLETTER_SEND_PROCESSES": "40"}, (40, 64)),
    ],
)
def test_both_stay_settings(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: tuple[int | None, int]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    processes, connections = expected
    if processes is not None:
        assert settings.send_processes == processes
    assert settings.smtp_concurrency == connections


@pytest.mark.parametrize(
    ("env", "processes", "connections", "per_hour"),
    [
        # Before: 2 processes kept 1 connection each (round(1 / 2) -> max(1, 0)): 2 in all.
        ({"SEND_PROCESSES": "2", "SMTP_CONCURRENCY": "1"}, 1, 1, 0),
        ({"SEND_PROCESSES": "4", "SMTP_CONCURRENCY": "2"}, 2, 1, 0),
        # Before: round(8 / 3) = 3 each, 9 in all.
        ({"SEND_PROCESSES": "3", "SMTP_CONCURRENCY": "8"}, 3, 2, 0),
        # Before: 100 / 3 rounded up, 34 each, 102 an hour in all.
        ({"SEND_PROCESSES": "3", "SMTP_CONCURRENCY": "9", "SEND_RATE_PER_HOUR": "100"}, 3, 3, 33),
        ({"SEND_PROCESSES": "2", "SMTP_CONCURRENCY": "8", "SEND_RATE_PER_HOUR": "1"}, 1, 8, 1),
    ],
)
def test_the_shares_of_the_sender_processes_never_exceed_the_totals(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    processes: int,
    connections: int,
    per_hour: int,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"NEWSLETTER_{name}", value)
    settings = Settings(_env_file=None)
    share = per_process(settings)
    assert process_count(settings) == processes
    assert (share.smtp_concurrency, share.send_rate_per_hour) == (connections, per_hour)
    assert processes * share.smtp_concurrency <= settings.smtp_concurrency
    assert processes * share.send_rate_per_hour <= settings.send_rate_per_hour
