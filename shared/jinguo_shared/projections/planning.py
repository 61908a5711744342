"""A rebuild's chunks of raw events turned into SQL statements, here or in a helper process.

Decoding and applying events is most of a rebuild's work, and all of it Python: one core's
worth. A long rebuild into SQLite hands it to a helper process, which plans chunk n while this
process reads chunk n + 1 from NATS and writes chunk n - 1 into SQLite, so that a rebuild uses
both cores.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
import marshal
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from sqlalchemy.engine import Dialect, make_url

from jinguo_contracts.base import ContractCatalogue
from jinguo_shared.envelope import RecordedEvent, decode
from jinguo_shared.projections.base import Projection, subject_matches
from jinguo_shared.projections.batch import ProjectionBatch, Statement

Item = tuple[int, str, bytes]
"""A raw event: stream sequence, NATS subject, envelope JSON."""

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("!Q")


@dataclass
class ChunkPlan:
    statements: dict[str, list[Statement]]
    """Per projection that applied the whole chunk."""
    failed: set[str]
    """Projections that could not decode or apply one of the chunk's events."""
    applied: int
    """How many of the chunk's items were applied: fewer than given where `until` stopped."""


@dataclass
class PlannerSpec:
    """What a planner needs; plain data and importable classes, so it can go to a process."""

    projections: list[tuple[type[Projection], int]]
    stream: str
    until: datetime | None
    catalogue: ContractCatalogue
    drivername: str


class ChunkPlanner:
    def __init__(self, spec: PlannerSpec) -> None:
        self._spec = spec
        self._projections = [cls(generation) for cls, generation in spec.projections]
        self._router = Router(self._projections, spec.stream)
        self._dialect: Dialect = make_url(f"{spec.drivername}://").get_dialect()()

    def plan(self, items: Sequence[Item]) -> ChunkPlan:
        spec = self._spec
        batches = {p.name: ProjectionBatch() for p in self._projections}
        failed: set[str] = set()
        applied = 0
        for seq, subject, data in items:
            event: RecordedEvent | None = None
            for projection in self._router.projections_for(subject):
                if projection.name in failed:
                    continue
                try:
                    if event is None:
                        event = decode(spec.stream, seq, subject, data, spec.catalogue)
                    if spec.until is not None and event.envelope.time > spec.until:
                        return self._planned(batches, failed, applied)
                    projection.apply(event, batches[projection.name])
                except Exception:
                    failed.add(projection.name)
            applied += 1
        return self._planned(batches, failed, applied)

    def _planned(
        self, batches: dict[str, ProjectionBatch], failed: set[str], applied: int
    ) -> ChunkPlan:
        statements = {
            name: batch.statements(self._dialect)
            for name, batch in batches.items()
            if name not in failed
        }
        return ChunkPlan(statements, failed, applied)


class Router:
    """Which projections want a subject; cached per aggregate and event type when no filter
    names one aggregate id (projections follow kinds of events, not single aggregates)."""

    def __init__(self, projections: Sequence[Projection], stream: str) -> None:
        self._filters = [(p, p.streams()[stream]) for p in projections]
        self._cacheable = all(
            len(tokens) < 3 or tokens[2] in ("*", ">")
            for _, filters in self._filters
            for tokens in (f.split(".") for f in filters)
        )
        self._routes: dict[tuple[str, str], list[Projection]] = {}

    def projections_for(self, subject: str) -> list[Projection]:
        tokens = subject.split(".")
        key = (tokens[1] if len(tokens) > 1 else "", tokens[-1])
        routed = self._routes.get(key) if self._cacheable else None
        if routed is None:
            routed = [
                p
                for p, filters in self._filters
                if p.wants(tokens[-1]) and any(subject_matches(f, subject) for f in filters)
            ]
            if self._cacheable and len(tokens) == 4:
                self._routes[key] = routed
        return routed


PROCESS_FROM_EVENTS = 50_000
"""Below this many events a helper process costs more to start (about a second of imports)
than it saves."""
PROCESS_FOR_DATABASES = frozenset({"sqlite"})
"""Where the database's work runs in this process. PostgreSQL's runs in its server, on the other
core already: there a planning process made a million-event rebuild slower (63.1 s against
57.6 s for the worker directory), as three busy processes shared two cores."""


def planning_for(spec: PlannerSpec, events: int) -> InlinePlanning | ProcessPlanning:
    database = spec.drivername.split("+", 1)[0]
    if events >= PROCESS_FROM_EVENTS and database in PROCESS_FOR_DATABASES:
        try:
            return ProcessPlanning(pickle.dumps(spec))
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            # classes or upcasters defined inside a function cannot be imported by a process
            log.info("rebuilding %s in this process only: %s", spec.stream, error)
    return InlinePlanning(spec)


class InlinePlanning:
    """Plans each chunk in this process, when its plan is asked for."""

    def __init__(self, spec: PlannerSpec) -> None:
        self._planner = ChunkPlanner(spec)
        self._submitted: collections.deque[Sequence[Item]] = collections.deque()

    async def __aenter__(self) -> InlinePlanning:
        return self

    async def __aexit__(self, *_: object) -> None:
        pass

    async def submit(self, items: Sequence[Item]) -> None:
        self._submitted.append(items)

    async def result(self) -> ChunkPlan:
        return self._planner.plan(self._submitted.popleft())


class ProcessPlanning:
    """Plans in a helper process: `submit` chunks, work on something else, then take their
    plans in order with `result`. The helper ends with the rebuild.

    The pipes are written and read on threads: a chunk is megabytes, and the event loop is
    busy running the previous chunk's SQL, which would hold up the helper."""

    def __init__(self, spec: bytes) -> None:
        self._spec = spec
        self._process: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> ProcessPlanning:
        self._process = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        await self._send(pickle.dumps(sys.path))
        await self._send(self._spec)
        return self

    async def __aexit__(self, *_: object) -> None:
        process = self._process
        if process is not None:
            process.kill()
            await asyncio.to_thread(process.wait)
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with contextlib.suppress(BrokenPipeError):  # a frame it did not take
                        pipe.close()

    async def submit(self, items: Sequence[Item]) -> None:
        await self._send(pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))

    async def result(self) -> ChunkPlan:
        assert self._process is not None
        assert self._process.stdout is not None
        frame = await asyncio.to_thread(_read_frame, self._process.stdout)
        if frame is None:
            raise await self._ended()
        return _unpack_plan(frame)

    async def _send(self, frame: bytes) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        try:
            await asyncio.to_thread(_write_frame, self._process.stdin, frame)
        except BrokenPipeError:
            raise await self._ended() from None

    async def _ended(self) -> RuntimeError:
        assert self._process is not None
        code = await asyncio.to_thread(self._process.wait)
        return RuntimeError(
            f"the rebuild's planning process ended with exit code {code} (its error, if any, "
            "is on standard error above)"
        )


def _pack_plan(plan: ChunkPlan) -> bytes:
    """marshal where the values allow (SQLite's: text and numbers), at a third of pickle's
    cost; pickle otherwise (dates for PostgreSQL)."""
    fields = (plan.statements, plan.failed, plan.applied)
    try:
        return b"m" + marshal.dumps(fields)
    except ValueError:
        return b"p" + pickle.dumps(fields, protocol=pickle.HIGHEST_PROTOCOL)


def _unpack_plan(frame: bytes) -> ChunkPlan:
    body = memoryview(frame)[1:]
    fields = marshal.loads(body) if frame[:1] == b"m" else pickle.loads(body)
    return ChunkPlan(*fields)


def _read_frame(source: IO[bytes]) -> bytes | None:
    """A frame, or None at the end of the input (or if it ends part way through a frame)."""
    header = source.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    frame = source.read(length)
    return frame if len(frame) == length else None


def _write_frame(sink: IO[bytes], frame: bytes) -> None:
    sink.write(_LENGTH.pack(len(frame)))
    sink.write(frame)
    sink.flush()


def _receive_frames(source: IO[bytes], frames: queue.Queue[bytes | None]) -> None:
    while True:
        frame = _read_frame(source)
        frames.put(frame)
        if frame is None:
            return


def _serve(source: IO[bytes], sink: IO[bytes]) -> None:
    path = _read_frame(source)
    spec = _read_frame(source)
    if path is None or spec is None:
        return
    sys.path[:] = pickle.loads(path)
    planner = ChunkPlanner(pickle.loads(spec))
    gc.disable()  # as in the rebuild itself: a chunk's objects make no cycles worth collecting
    # the next chunk is read while this one is planned, so that sending it never waits
    frames: queue.Queue[bytes | None] = queue.Queue(maxsize=1)
    threading.Thread(target=_receive_frames, args=(source, frames), daemon=True).start()
    while (frame := frames.get()) is not None:
        _write_frame(sink, _pack_plan(planner.plan(pickle.loads(frame))))


def serve_stdio() -> None:
    """The helper's main: frames in on standard input, out on the original standard output;
    anything else written there (a stray print, a C library's message) goes to standard error."""
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, protocol_out)


if __name__ == "__main__":
    # run through the module's own name, so that what it sends unpickles as its classes
    from jinguo_shared.projections import planning

    planning.serve_stdio()
