"""Engines for SQLite (embedded default) and PostgreSQL (production); the kernel's tables."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    event,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_, greenlet_spawn

from jinguo_shared import sqlite_inline


def make_engine(url: str) -> AsyncEngine:
    if not url.startswith("sqlite"):
        # no pre-ping: it doubled the round trips of every checkout (0.55 ms of a 1.7 ms read). A
        # connection broken by a database restart fails the one operation that uses it and is
        # discarded; projections and reactions retry such errors, an API request answers 5xx
        return create_async_engine(url, pool_size=10, max_overflow=10, pool_recycle=1800)
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError(f"SQLite needs a file: {url}")
    engine = create_async_engine(url, async_creator=sqlite_inline.connector(database))
    sqlite_inline.WalCheckpointer.acquire(database)

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def _disposed(_: Any) -> None:
        sqlite_inline.WalCheckpointer.release(database)

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        raw = connection.connection.driver_connection.raw
        if connection.get_execution_options().get(_WRITE):
            sqlite_inline.begin_immediate(raw, await_)
        else:
            raw.execute("BEGIN")

    return engine


_WRITE = "jinguo_write"
_sqlite_writers: dict[int, asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction.

    SQLite has one writer at a time: this process's writers queue on a lock, and the first
    takes the database's write lock (`BEGIN IMMEDIATE`) without blocking the event loop, should
    another process (a replay, say) hold it.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            yield connection
        return
    async with _writer_lock(engine), engine.connect() as connection:
        await connection.execution_options(**{_WRITE: True})
        async with connection.begin():
            yield connection


def _writer_lock(engine: AsyncEngine) -> asyncio.Lock:
    return _sqlite_writers.setdefault(id(engine.sync_engine), asyncio.Lock())


class DirectSql:
    """The kernel's per-command statements run on the database driver itself.

    Through SQLAlchemy Core each of these small fixed statements cost more CPU than the statement
    (cache key, compiled-cache lookup, execution context, result proxy, a greenlet hop each way):
    together about 40% of an API process's CPU per command. They are written once for both
    dialects, with `?` placeholders numbered for asyncpg. JSON columns travel as text.

    On SQLite they skip the pool too: one connection reads (autocommit) and one writes, behind
    this process's writer lock, both on the event loop's thread like every SQLite call here.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._numbered: dict[str, str] = {}
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None

    def statement(self, sql: str) -> str:
        """`sql` in the driver's placeholder style."""
        if self.sqlite:
            return sql
        numbered = self._numbered.get(sql)
        if numbered is None:
            parts = sql.split("?")
            numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
            self._numbered[sql] = numbered
        return numbered

    def _sqlite(self) -> str:
        database = self._engine.url.database
        assert database is not None
        return database

    @contextlib.asynccontextmanager
    async def _pooled(self) -> AsyncIterator[Any]:
        raw = await self._engine.raw_connection()
        try:
            yield raw.driver_connection
        finally:
            await greenlet_spawn(raw.close)

    async def rows(
        self, connection: Any, sql: str, params: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        """`sql` on `connection`, sqlite3's or asyncpg's."""
        if self.sqlite:
            return list(connection.execute(sql, params).fetchall())
        return [tuple(row) for row in await connection.fetch(self.statement(sql), *params)]

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.sqlite:
            if self._reader is None:
                self._reader = sqlite_inline.open_connection(self._sqlite())
            return await self.rows(self._reader, sql, params)
        async with self._pooled() as driver:
            return await self.rows(driver, sql, params)

    async def fetch_within(
        self, connection: AsyncConnection, sql: str, *params: Any
    ) -> list[tuple[Any, ...]]:
        """A read on the connection of a SQLAlchemy transaction (on PostgreSQL perhaps before
        the transaction's first statement: for a read at READ COMMITTED the same)."""
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        return await self.rows(driver.raw if self.sqlite else driver, sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[DirectTransaction]:
        """A write transaction (on SQLite queued behind this process's other writers)."""
        if not self.sqlite:
            async with self._pooled() as driver, driver.transaction():
                yield DirectTransaction(self, driver)
            return
        async with _writer_lock(self._engine):
            if self._writer is None:
                self._writer = sqlite_inline.open_connection(self._sqlite())
            await sqlite_inline.take_write_lock(self._writer)
            try:
                yield DirectTransaction(self, self._writer)
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    async def scrub(self, table: str) -> None:
        """After deleting rows that must leave no copy behind (an erased person's key): SQLite
        zeroed them as it deleted (`secure_delete`), and a truncating checkpoint removes the
        log's earlier images of their pages; on PostgreSQL, VACUUM (never inside a transaction)
        removes the dead tuples."""
        if self.sqlite:
            await asyncio.wrap_future(sqlite_inline.WalCheckpointer.truncate(self._sqlite()))
            return
        async with self._pooled() as driver:
            # a dead tuple stays while another transaction began before the deletion (a
            # projector's batch, say: its snapshot or its own xid); those begun since do not
            # keep it, and with many projections there is nearly always one: vacuum again
            # until no older one ran as the vacuum began
            horizon = await driver.fetchval(DELETED_BEFORE)
            for _ in range(SCRUB_ATTEMPTS):
                held = await driver.fetchval(OLDER_SNAPSHOTS_HELD, horizon)
                await driver.execute(f"VACUUM {table}")
                if not held:
                    return
                await asyncio.sleep(0.05)


SCRUB_ATTEMPTS = 100
DELETED_BEFORE = "SELECT txid_current() % 4294967296"
OLDER_SNAPSHOTS_HELD = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid()"
    " AND (age(backend_xmin) >= age($1::xid) OR age(backend_xid) >= age($1::xid))"
)


class DirectTransaction:
    def __init__(self, direct: DirectSql, connection: Any) -> None:
        self._direct = direct
        self._connection = connection  # sqlite3's, or asyncpg's

    async def execute(self, sql: str, *params: Any) -> None:
        if self._direct.sqlite:
            self._connection.execute(sql, params)
        else:
            await self._connection.execute(self._direct.statement(sql), *params)

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return await self._direct.rows(self._connection, sql, params)


def sqlite_timestamp(moment: datetime) -> str:
    """How SQLAlchemy stores a DateTime in SQLite, for rows written by `DirectSql`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_for(engine_or_dialect: AsyncEngine | str, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on both dialects."""
    name = (
        engine_or_dialect if isinstance(engine_or_dialect, str) else engine_or_dialect.dialect.name
    )
    if name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


kernel_metadata = MetaData()

aggregate_states = Table(
    "aggregate_states",
    kernel_metadata,
    Column("aggregate_type", String(40), primary_key=True),
    Column("aggregate_id", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("state", JSON, nullable=False),
)

idempotency_records = Table(
    "idempotency_records",
    kernel_metadata,
    Column("client_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

pii_keys = Table(
    "pii_keys",
    kernel_metadata,
    Column("subject_id", String(64), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
)

projection_checkpoints = Table(
    "projection_checkpoints",
    kernel_metadata,
    Column("projection", String(80), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("stream", String(40), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

projection_generations = Table(
    "projection_generations",
    kernel_metadata,
    Column("projection", String(80), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

dead_letters = Table(
    "dead_letters",
    kernel_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("projection", String(80), nullable=False, index=True),
    Column("stream", String(40), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("subject", String(300), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False),
    Column("replayed_at", DateTime(timezone=True), nullable=True),
)


webhook_subscriptions = Table(
    "webhook_subscriptions",
    kernel_metadata,
    Column("id", String(36), primary_key=True),
    Column("client_id", String(64), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("types", JSON, nullable=True),
    Column("area", String(12), nullable=True),
    Column("sealed_secret", Text, nullable=False),
    Column("after_seq", BigInteger, nullable=False),
    Column("paused_reason", Text, nullable=True),
    Column("created_at", Float, nullable=False),
)
"""Partners' webhooks (`jinguo_shared.webhooks`); the secret sealed under `webhook:<id>`."""

webhook_outbox = Table(
    "webhook_outbox",
    kernel_metadata,
    Column("subscription_id", String(36), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failing_since", Float, nullable=True),
    Column("next_attempt_at", Float, nullable=False),
    Index("webhook_outbox_by_state", "subscription_id", "state", "seq"),
)
"""Per subscription, the events to deliver in order: `pending`, `delivered` or `skipped`."""

webhook_attempts = Table(
    "webhook_attempts",
    kernel_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False, index=True),
    Column("event_id", String(64), nullable=False),
    Column("position", String(60), nullable=False),
    Column("attempted_at", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
)


async def parked_to_retry(engine: AsyncEngine, letter_id: int) -> Row[Any]:
    """A dead letter that has not been applied again yet (applying twice would count twice)."""
    async with engine.connect() as connection:
        query = select(dead_letters).where(dead_letters.c.id == letter_id)
        row = (await connection.execute(query)).first()
    if row is None:
        raise LookupError(f"no parked event {letter_id}")
    if row.replayed_at is not None:
        raise LookupError(f"parked event {letter_id} was already applied at {row.replayed_at}")
    return row


async def mark_retried(connection: AsyncConnection, letter_id: int) -> None:
    await connection.execute(
        update(dead_letters)
        .where(dead_letters.c.id == letter_id)
        .values(replayed_at=datetime.now(UTC))
    )


def create_kernel_tables(connection: Connection) -> None:
    """The kernel's tables, and any index a later version added to a table already there
    (`create_all` makes an index only with its table)."""
    kernel_metadata.create_all(connection)
    for table in kernel_metadata.sorted_tables:
        for index in table.indexes:
            index.create(connection, checkfirst=True)
