"""Helper sender processes: the same send loop in ``count`` forked children.

Rendering and SMTP are CPU-bound Python; one process keeps one core busy. With
``SEND_PROCESSES=N`` the sender forks N-1 helpers that claim batches from the same
ledger (claims are single atomic statements, so no row is claimed twice) while the
parent sends too. Forking (not spawning) lets each child inherit the personalizer — the
compiled templates, the ranker and the edition — without pickling or rebuilding them.

Each child runs ``target(index)`` in a fresh event loop and reports back one
``HelperResult`` through a pipe. A child that dies without reporting is an error for
the caller; the rows it held are returned by the reaper like those of any dead sender.
Children get SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import logging
import multiprocessing
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
# Imported on first use by what every sender does, so imported here before the fork:
# asyncio resolves host names in its default thread pool, a host name is encoded with the
# IDNA codec (which imports stringprep and unicodedata), and SMTP commands are ASCII.
PRELOAD = ("concurrent.futures.thread", "encodings.ascii", "encodings.idna")


@dataclass(frozen=True, slots=True)
class HelperResult:
    """What one helper sender reported: messages sent, throttle events, failures, why
    it stopped, or the error that ended it."""

    index: int
    sent: int = 0
    throttle_events: int = 0
    failed: int = 0
    stopped: str = ""  # why the helper stopped sending early ("" when it did not)
    error: str | None = None
    imported: tuple[str, ...] = ()  # modules the helper imported after the fork


# What a helper's target returns: (sent, throttle events, failed, why it stopped or "")
HelperTally = tuple[int, int, int, str]
Target = Callable[[int], Awaitable[HelperTally]]


@dataclass
class Helper:
    """A forked helper sender: its process id and the pipe its result comes back on."""

    index: int
    process: BaseProcess
    reader: Connection


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # pragma: no cover - not glibc
            pass


def _child(index: int, target: Target, writer: Connection) -> None:
    _die_with_parent()
    inherited = set(sys.modules)
    try:
        sent, throttles, failed, stopped = asyncio.run(_call(target, index))
        imported = tuple(sorted(set(sys.modules) - inherited))
        writer.send(HelperResult(index, sent, throttles, failed, stopped, imported=imported))
    except BaseException as exc:  # reported to the parent, which raises it
        log.debug("helper %d failed:\n%s", index, traceback.format_exc())
        writer.send(HelperResult(index, error=str(exc) or type(exc).__name__))
    finally:
        writer.close()


async def _call(target: Target, index: int) -> HelperTally:
    return await target(index)


def start(count: int, target: Target) -> list[Helper]:
    """Fork ``count`` helpers, each running ``target(index)`` (index 1..count)."""
    for name in PRELOAD:
        importlib.import_module(name)
    context = multiprocessing.get_context("fork")
    helpers = []
    for index in range(1, count + 1):
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(index, target, writer), name=f"send-helper-{index}", daemon=True
        )
        process.start()
        writer.close()
        helpers.append(Helper(index, process, reader))
    log.debug("started %d helper sender process(es)", count)
    return helpers


def _wait(helper: Helper) -> HelperResult:
    result: HelperResult | None = None
    try:
        if helper.reader.poll(None):
            result = helper.reader.recv()
    except (EOFError, OSError):
        result = None
    helper.process.join()
    helper.reader.close()
    if result is None:
        code = helper.process.exitcode
        return HelperResult(helper.index, error=f"helper process exited with status {code}")
    log.debug(
        "helper %d imported %d module(s) after the fork%s",
        helper.index,
        len(result.imported),
        f": {', '.join(result.imported)}" if result.imported else "",
    )
    return result


async def join(helpers: list[Helper]) -> list[HelperResult]:
    """Wait for every helper (without blocking the event loop); their results in order."""
    return list(await asyncio.gather(*(asyncio.to_thread(_wait, h) for h in helpers)))


def stop(helpers: list[Helper]) -> None:
    """Terminate helpers still running (the parent is giving up)."""
    for helper in helpers:
        if helper.process.is_alive():
            helper.process.terminate()
    for helper in helpers:
        helper.process.join(timeout=10)
