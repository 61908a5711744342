"""SQLite run on the event loop's own thread, behind the interface SQLAlchemy's aiosqlite
dialect expects.

aiosqlite hands every call to a thread of its own and back: about half a millisecond of CPU
per statement on these machines, against tens of microseconds for the statement itself, and
most of a command's cost. Running the calls inline is safe here because nothing waits inside
SQLite: in WAL mode readers never wait, and writers first take the database's write lock with
`BEGIN IMMEDIATE` without waiting (busy_timeout 0), sleeping on the event loop between tries
(see `jinguo_shared.db.writing`). A commit does not fsync (synchronous=NORMAL); the WAL's
periodic checkpoint does, for a few milliseconds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any


class Cursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class Connection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.raw = connection
        self._conn = connection
        self._connection = connection  # SQLAlchemy checks it to tell an open connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value  # type: ignore[assignment]

    @property
    def _tx(self) -> _Immediate:  # how the dialect sets the isolation level on aiosqlite
        return _Immediate()

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()


class _Immediate:
    """Stands in for aiosqlite's request queue: runs the call at once."""

    def put_nowait(self, request: tuple[Any, Any]) -> None:
        future, function = request
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future
            future.set_exception(error)


BUSY_TIMEOUT_MS = 5_000
"""For transactions that do not announce a write (they should not write): a bounded wait."""
WRITE_LOCK_TIMEOUT = 30.0
WRITE_LOCK_POLL_MAX = 0.004
"""`jinguo up`'s API and projector processes share each file and take turns every few ms."""


def connector(path: str) -> Callable[[], Awaitable[Connection]]:
    """An `async_creator` for `create_async_engine("sqlite+aiosqlite:///path")`.

    The sqlite3 module's own transaction handling is off (isolation_level None): the engine's
    "begin" hook issues BEGIN, or BEGIN IMMEDIATE for writers.
    """

    async def connect() -> Connection:
        return Connection(open_connection(path))

    return connect


def open_connection(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


def begin_immediate(connection: sqlite3.Connection, await_: Callable[[Any], Any]) -> None:
    """`take_write_lock` from inside SQLAlchemy's greenlet (its `await_`)."""
    await_(take_write_lock(connection))


async def take_write_lock(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, sleeping on the event loop while another process holds the lock."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        delay = 0.001
        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, WRITE_LOCK_POLL_MAX)
    finally:
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
