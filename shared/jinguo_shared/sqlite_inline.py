"""SQLite run on the event loop's own thread, behind the interface SQLAlchemy's aiosqlite
dialect expects.

aiosqlite hands every call to a thread of its own and back: about half a millisecond of CPU
per statement on these machines, against tens of microseconds for the statement itself, and
most of a command's cost. Running the calls inline is safe here because nothing waits inside
SQLite: in WAL mode readers never wait, and writers first take the database's write lock with
`BEGIN IMMEDIATE` without waiting (busy_timeout 0), sleeping on the event loop between tries
(see `jinguo_shared.db.writing`). A commit does not fsync (synchronous=NORMAL); moving the
WAL into the database file does, and that runs on a thread of its own (`WalCheckpointer`).

Deleted rows are overwritten with zeros (`secure_delete`): an erased person's key must leave no
copy in the file. What the WAL still holds of the pages before the deletion goes with a
truncating checkpoint (`WalCheckpointer.truncate`), which follows every deletion of keys.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

log = logging.getLogger(__name__)


KEY_DELETION = "DELETE FROM pii_keys"
"""How a projection erasing people (through SQLAlchemy) starts its statement: the commit that
follows it asks for a truncating checkpoint."""


class Cursor:
    def __init__(self, cursor: sqlite3.Cursor, connection: Connection) -> None:
        self._cursor = cursor
        self._connection = connection

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
        if sql.startswith(KEY_DELETION):
            self._connection.erasing = True
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        if sql.startswith(KEY_DELETION):
            self._connection.erasing = True
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
    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self.raw = connection
        self._conn = connection
        self._connection = connection  # SQLAlchemy checks it to tell an open connection
        self._path = path
        self._changes_committed = connection.total_changes
        self.erasing = False
        """The open transaction deletes personal-data keys."""

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
        return Cursor(self._conn.cursor(), self)

    async def commit(self) -> None:
        if self._conn.total_changes - self._changes_committed >= LARGE_COMMIT_ROWS:
            await asyncio.to_thread(self._conn.commit)
        else:
            self._conn.commit()
        self._changes_committed = self._conn.total_changes
        if self.erasing:
            self.erasing = False
            WalCheckpointer.truncate(self._path)

    async def rollback(self) -> None:
        self._conn.rollback()
        self._changes_committed = self._conn.total_changes
        self.erasing = False

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()


LARGE_COMMIT_ROWS = 1_000
"""A commit of this many changed rows or more (a rebuild's, every couple of seconds) writes
megabytes to the log: it runs on a thread, which sqlite3 lets run without the GIL, while the
event loop goes on reading and applying. Small commits stay inline, where they cost less than
the hand-over to a thread."""


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
PAGE_SIZE = 16_384
"""For files created from now on (SQLite keeps a file's page size for good). A projection's
key is a random UUID, so its rows land all over its index; with 16 KiB pages instead of the
default 4 KiB the index is shallower and splits less often: 600,000 rows went in a quarter
faster. A small commit writes a few more kilobytes to the log."""
CACHE_KIB = 32_768
"""Per connection, filled only as far as the database is used. SQLite's default (2 MiB) held
too little of a rebuilt table's indexes: a million-event rebuild spent most of its SQL time
re-reading index pages."""


def connector(path: str) -> Callable[[], Awaitable[Connection]]:
    """An `async_creator` for `create_async_engine("sqlite+aiosqlite:///path")`.

    The sqlite3 module's own transaction handling is off (isolation_level None): the engine's
    "begin" hook issues BEGIN, or BEGIN IMMEDIATE for writers.
    """

    async def connect() -> Connection:
        return Connection(open_connection(path), path)

    return connect


def open_connection(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA page_size={PAGE_SIZE}")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # see WalCheckpointer
    connection.execute("PRAGMA secure_delete=ON")
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


class WalCheckpointer:
    """Copies each database's write-ahead log into the database file, on a thread of its own.

    SQLite's automatic checkpoint runs inside whichever commit crosses its threshold, here on
    the event loop: a few milliseconds of file writes and an fsync in the middle of a command,
    and a sixth of a rebuild's time. Connections opened here turn it off
    (`wal_autocheckpoint=0`); one thread per file and process runs a PASSIVE checkpoint (it
    never blocks readers or writers) at most every `INTERVAL` seconds when the log has changed.
    sqlite3 releases the GIL while it works, so the copy overlaps the loop's work.
    An engine holds it from creation to `dispose`.
    """

    INTERVAL = 0.2
    LOG_LIMIT = 64 * 2**20
    TRUNCATE_TIMEOUT = 30.0
    _running: ClassVar[dict[str, WalCheckpointer]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: str) -> None:
        self._path = path
        self._engines = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._truncations: list[concurrent.futures.Future[None]] = []
        self._thread = threading.Thread(
            target=self._run, name=f"wal-checkpoint {os.path.basename(path)}", daemon=True
        )

    @classmethod
    def acquire(cls, path: str) -> None:
        with cls._lock:
            checkpointer = cls._running.get(path)
            if checkpointer is None:
                checkpointer = cls._running[path] = cls(path)
                checkpointer._thread.start()
            checkpointer._engines += 1

    @classmethod
    def release(cls, path: str) -> None:
        """The last engine on `path` stops the thread, after a last checkpoint."""
        with cls._lock:
            checkpointer = cls._running.get(path)
            if checkpointer is None:
                return
            checkpointer._engines -= 1
            if checkpointer._engines > 0:
                return
            del cls._running[path]
        checkpointer._stop.set()
        checkpointer._wake.set()
        checkpointer._thread.join()

    @classmethod
    def truncate(cls, path: str) -> concurrent.futures.Future[None]:
        """Copy the whole log into the database and cut the log to nothing, at once (waiting for
        readers still on older pages): after an erasure, the log's earlier images of the pages
        hold what was deleted. The future resolves when that is done."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        with cls._lock:
            checkpointer = cls._running.get(path)
            if checkpointer is None:
                future.set_exception(LookupError(f"no engine is open on {path}"))
                return future
            checkpointer._truncations.append(future)
        checkpointer._wake.set()
        return future

    def _run(self) -> None:
        wal = f"{self._path}-wal"
        connection: sqlite3.Connection | None = None
        seen: tuple[int, int] | None = None
        try:
            while True:
                self._wake.wait(self.INTERVAL)
                self._wake.clear()
                stopping = self._stop.is_set()
                with self._lock:
                    truncations, self._truncations = self._truncations, []
                try:
                    status = os.stat(wal)
                except FileNotFoundError:
                    status = None
                mark = (status.st_mtime_ns, status.st_size) if status else None
                if truncations:
                    try:
                        connection = connection or self._connect()
                        self._empty_log(connection)
                    except sqlite3.Error as error:
                        log.warning("could not empty the log of %s: %s", self._path, error)
                        for future in truncations:
                            future.set_exception(error)
                    else:
                        for future in truncations:
                            future.set_result(None)
                elif status is not None and (mark != seen or stopping):
                    seen = mark
                    # a log grown past the limit (writers kept appending while earlier
                    # checkpoints ran) is emptied: writers wait for that, on their event loop
                    mode = "TRUNCATE" if status.st_size > self.LOG_LIMIT else "PASSIVE"
                    try:
                        connection = connection or self._connect()
                        connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
                    except sqlite3.Error as error:  # another process's checkpoint, say
                        log.debug("checkpoint of %s deferred: %s", self._path, error)
                if stopping:
                    return
        finally:
            if connection is not None:
                connection.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            f"file:{quote(self._path)}?mode=rw",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return connection

    def _empty_log(self, connection: sqlite3.Connection) -> None:
        deadline = time.monotonic() + self.TRUNCATE_TIMEOUT
        while True:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            if time.monotonic() > deadline:
                raise sqlite3.OperationalError("readers kept using the log")
            time.sleep(0.01)
