"""One process at a time follows a service's streams into its projections.

Two would share the durable consumer, each acknowledging (ack-all) what the other had not yet
applied, and each skipping what lies below the other's checkpoint: events would be lost. The
deployment runs one projector (`Recreate`), and this lease makes a second one, started by
mistake or during a roll-out, wait as a standby instead.

SQLite: an exclusive `flock` on a file beside the database (the same machine, as SQLite is);
PostgreSQL: a session advisory lock on a connection of its own. Either is released by the
operating system or the database server when the holder dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 5.0


class ProjectorLease:
    def __init__(self, engine: AsyncEngine, service: str) -> None:
        self._engine = engine
        self.service = service
        self._file: int | None = None
        self._connection: AsyncConnection | None = None
        digest = hashlib.blake2b(f"jinguo-projector:{service}".encode(), digest_size=8).digest()
        self._key = int.from_bytes(digest, "big", signed=True)

    @property
    def held(self) -> bool:
        return self._file is not None or self._connection is not None

    @property
    def lock_file(self) -> str:
        return f"{self._engine.url.database}.{self.service}-projector.lock"

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; never waits."""
        if self.held:
            return True
        if self._engine.dialect.name == "sqlite":
            return self._lock_file()
        connection = await self._engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            )
        except BaseException:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        return True

    def _lock_file(self) -> bool:
        descriptor = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        self._file = descriptor
        return True

    async def still_held(self) -> bool:
        """False once the lease's database connection is gone: the server has released the
        lock, and another process may hold it now."""
        if self._connection is None:
            return self._file is not None
        try:
            await asyncio.wait_for(self._connection.scalar(text("SELECT 1")), CHECK_TIMEOUT)
        except Exception:
            log.warning("the projector lease's connection failed", exc_info=True)
            await self._drop_connection()
            return False
        return True

    async def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            os.close(self._file)
            self._file = None
        await self._drop_connection()

    async def _drop_connection(self) -> None:
        """Closes the session (not back to the pool), which releases its advisory lock."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()
            with contextlib.suppress(Exception):
                await connection.close()
