"""Progress of long work (a replay, an export, the demo): rich's bars on a terminal; else one
plain line per tenth, since a redrawn bar floods a Kubernetes Job's log."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

Report = Callable[[str, int, int], None]
"""Told `(label, done, total)`: one bar per label."""


@contextlib.contextmanager
def progress_bars(unit: str) -> Iterator[Report]:
    console = Console(stderr=True)
    if console.is_terminal:
        with _terminal_bars(console, unit) as report:
            yield report
    else:
        yield _PlainLines(unit)


@contextlib.contextmanager
def _terminal_bars(console: Console, unit: str) -> Iterator[Report]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bars:
        tasks: dict[str, TaskID] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bars.add_task(label, total=total)
            bars.update(tasks[label], completed=done, total=total)

        yield report


class _PlainLines:
    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.started: dict[str, float] = {}
        self.tenths: dict[str, int] = {}
        self.last_report = time.monotonic()

    def __call__(self, label: str, done: int, total: int) -> None:
        started = self.started.setdefault(label, self.last_report)  # labels run one by one
        self.last_report = time.monotonic()
        tenths = 10 * done // total if total else 10
        if tenths <= self.tenths.get(label, 0):
            return
        self.tenths[label] = tenths
        rate = done / max(self.last_report - started, 1e-6)
        print(
            f"{label}: {10 * tenths}% ({done:,}/{total:,} {self.unit}, {rate:,.0f}/s)",
            file=sys.stderr,
            flush=True,
        )
