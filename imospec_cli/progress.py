"""Progress of the long commands (``prove``, ``conform``, ``mutate``,
``verify``), shared: a rich bar on stderr with the count, the rate and the
time left, on a terminal only. When stderr is not a terminal (CI, a pipe, a
file) or ``--quiet`` is given, nothing is printed: the results on stdout are
the same either way.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["Progress", "add_quiet_argument"]


def add_quiet_argument(p: Any) -> None:
    """``--quiet``: no progress bar (it is never shown when stderr is not a terminal)."""
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bar (none is shown either when stderr is not a terminal)")


class Progress:
    """A progress bar of ``total`` ``unit`` (e.g. 120 queries, 1,000 steps) with rate and time left.

    Use as a context manager; :meth:`advance` or :meth:`update` as work is
    done, with a short ``note`` (the query or mutant at hand). Silent unless
    ``stream`` is a terminal and not ``quiet``.
    """

    def __init__(self, what: str, unit: str, total: int | None = None, *, quiet: bool = False,
                 stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.shown = not quiet and self.stream.isatty()
        self.what, self.unit, self.total = what, unit, total
        self.done = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.shown:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn(self.what), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("left"),
                            TimeRemainingColumn(), TextColumn("{task.description}"),
                            console=Console(file=self.stream), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self.total, rate="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """``done`` of ``total`` (the total may change as work is planned)."""
        self.done = done
        if total is not None:
            self.total = total
        if self._bar is None:
            return
        task = self._bar.tasks[0]
        speed = task.speed
        rate = f"{speed:,.1f} {self.unit}/s" if speed else ""
        self._bar.update(self._task, completed=done, total=self.total, description=note[:60], rate=rate)

    def advance(self, n: int = 1, note: str = "") -> None:
        """``n`` more done."""
        self.update(self.done + n, None, note)
