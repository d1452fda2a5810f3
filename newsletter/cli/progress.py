"""A rich progress bar on a terminal, plain log lines otherwise (``make_progress``).

The pipeline reports through the ``Progress`` protocol (``newsletter.pipeline.progress``);
this module only chooses how that looks on the user's terminal.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from newsletter.pipeline.progress import PlainProgress, Progress


class BarProgress:
    """A transient rich bar per stage; the stage's summary line stays on screen."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None

    def start(self, stage: str, total: int | None = None) -> None:
        self.close()
        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(stage, total=total)

    def advance(self, count: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, count)

    def done(self, line: str) -> None:
        self.close()
        self.console.print(line, markup=False, highlight=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar, self._task = None, None


def make_progress(stream: TextIO, *, quiet: bool = False) -> Progress:
    """A bar when ``stream`` is a terminal (and not ``--quiet``), log lines otherwise."""
    if quiet or not stream.isatty():
        return PlainProgress()
    return BarProgress(Console(file=stream))
