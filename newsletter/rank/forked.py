"""Work shared with forked copies of this process, each result handed back by pickle.

``map_forked(work, parts)`` returns ``[work(part) for part in parts]``, in order: the
parent computes ``parts[0]`` while one forked child per other part computes its own, so
``len(parts)`` cores work at once. A child starts as a copy of the parent (POSIX
``fork``): what the parent built before (an edition's term space, its topic scores) is
shared copy-on-write, not rebuilt. The child pickles its result into an unlinked
temporary file and leaves with ``os._exit`` (no ``atexit``, no flush of the parent's
buffers); the parent unpickles it once the child has exited. A child that fails (an
exception, a signal, a result that cannot be pickled) is logged, and the parent computes
that part itself: the answer is the same, only slower.

``cores()`` is how many parts are worth making: the cores this process may run on
(``os.sched_getaffinity``), 1 where ``fork`` is not available.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import resource
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import IO, TypeVar

log = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")

# Children forked so far by this process (tests check that work was really shared).
forks = 0


def cores() -> int:
    """The cores this process may run on (1 without ``fork`` or ``sched_getaffinity``)."""
    if not hasattr(os, "fork") or not hasattr(os, "sched_getaffinity"):
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's exited (waited-for) children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def map_forked(work: Callable[[P], R], parts: Sequence[P], *, here: bool = True) -> list[R]:
    """``[work(part) for part in parts]``, the parts after the first in forked children
    (``here=False``: every part in a child, this process waits).

    ``work``'s results must pickle. Children see the parent's memory as it was at the
    fork: what they change (caches filled while working) stays in the child. With one
    part and ``here``, or without ``fork``, everything runs here."""
    if not hasattr(os, "fork") or (here and len(parts) <= 1):
        return [work(part) for part in parts]
    mine = parts[:1] if here else []
    started: list[tuple[int, IO[bytes]]] = []
    for part in parts[len(mine) :]:
        file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _collect
        with warnings.catch_warnings():
            # Python 3.12 warns when a process with threads forks. The child runs only
            # ``work`` (numpy, onnxruntime sessions of its own) and never takes a lock
            # another thread may have held: logging's are reset at fork (``os.register_at_fork``).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(work, part, file)
        global forks
        forks += 1
        started.append((pid, file))
    out: list[R] = [work(part) for part in mine]
    for (pid, file), part in zip(started, parts[len(mine) :], strict=True):
        out.append(_collect(pid, file, work, part))
    return out


def _child(work: Callable[[P], R], part: P, file: IO[bytes]) -> None:
    code = 0
    try:
        result = work(part)
        start = time.process_time()
        pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
        file.flush()
        log.debug(
            "forked worker %d: %.2f s CPU, %.2f s of it to pickle %d bytes",
            os.getpid(),
            time.process_time(),
            time.process_time() - start,
            file.tell(),
        )
    except BaseException:  # reported to the parent by the exit code
        code = 1
        with contextlib.suppress(OSError):
            os.write(2, f"forked worker {os.getpid()} failed:\n{traceback.format_exc()}".encode())
    finally:
        os._exit(code)


def _collect(pid: int, file: IO[bytes], work: Callable[[P], R], part: P) -> R:
    with file:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            file.seek(0)
            try:
                start = time.process_time()
                # Written by our own child into a file no one else holds: trusted.
                result: R = pickle.load(file)  # noqa: S301
                log.debug("worker %d's result read in %.2f s CPU", pid, time.process_time() - start)
                return result
            except (pickle.UnpicklingError, EOFError, ValueError) as error:
                log.warning("forked worker %d: unreadable result (%s)", pid, error)
        else:
            log.warning("forked worker %d exited with %d; its part is redone here", pid, code)
    return work(part)
