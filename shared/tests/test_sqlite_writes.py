"""SQLite runs on the event loop's thread: waiting for another process's write lock must not
stop the loop, and must end in the write once the lock is free; copying the log into the
database is left to a thread."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from jinguo_shared.db import make_engine, writing
from jinguo_shared.sqlite_inline import PAGE_SIZE, WalCheckpointer


async def test_a_writer_waits_for_another_process_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "service.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with writing(engine) as connection:
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        other_process = sqlite3.connect(path, isolation_level=None)
        other_process.execute("BEGIN IMMEDIATE")
        other_process.execute("INSERT INTO notes VALUES (1, 'from the replay')")

        async def write() -> None:
            async with writing(engine) as connection:
                await connection.execute(text("INSERT INTO notes VALUES (2, 'from a command')"))

        writer = asyncio.create_task(write())
        ticks = 0
        while ticks < 20:  # the loop keeps running while the writer waits
            await asyncio.sleep(0.005)
            ticks += 1
        assert not writer.done()
        async with engine.connect() as connection:  # and readers are not held up
            assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar() == 0

        other_process.execute("COMMIT")
        await asyncio.wait_for(writer, 10)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT id FROM notes ORDER BY id"))).all()
        assert [r.id for r in rows] == [1, 2]
        other_process.close()
    finally:
        await engine.dispose()


async def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    try:
        async with writing(engine) as connection:
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))

        async def twice() -> None:
            async with writing(engine) as connection:
                await connection.execute(text("INSERT INTO notes VALUES (1)"))
                await connection.execute(text("INSERT INTO notes VALUES (1)"))

        with pytest.raises(IntegrityError, match="UNIQUE"):
            await twice()
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar() == 0
        async with writing(engine) as connection:  # and the next writer gets the lock
            await connection.execute(text("INSERT INTO notes VALUES (1)"))
    finally:
        await engine.dispose()


async def test_commits_leave_the_log_to_the_checkpoint_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WalCheckpointer, "LOG_LIMIT", 2**20)
    path = tmp_path / "service.db"
    log = Path(f"{path}-wal")
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with writing(engine) as connection:
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        async with writing(engine) as connection:
            await connection.execute(
                text("INSERT INTO notes VALUES (:id, :body)"),
                [{"id": n, "body": "x" * 1000} for n in range(20_000)],
            )
        # the commit only appended to the log (past 1,000 pages SQLite would have copied it:
        # this is about 1,300 pages of 16 KiB)
        assert size(path) < 2**20 < size(log)

        async def copied_and_emptied() -> None:
            while size(path) < 16 * 2**20 or size(log) > 0:
                await asyncio.sleep(0.05)

        # the thread copies it into the database, and empties a log grown past the limit
        await asyncio.wait_for(copied_and_emptied(), 10)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar() == 20_000
    finally:
        await engine.dispose()
    assert not [t for t in threading.enumerate() if t.name == "wal-checkpoint service.db"]


async def test_new_files_take_large_pages_and_existing_files_keep_theirs(tmp_path: Path) -> None:
    existing = tmp_path / "existing.db"
    with contextlib.closing(sqlite3.connect(existing)) as old:
        old.execute("PRAGMA page_size=4096")
        old.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
        old.execute("INSERT INTO notes VALUES (1)")
        old.commit()
    for path, expected in ((tmp_path / "new.db", PAGE_SIZE), (existing, 4096)):
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with writing(engine) as connection:
                await connection.execute(text("CREATE TABLE IF NOT EXISTS notes (id INTEGER)"))
                await connection.execute(text("INSERT INTO notes VALUES (2)"))
            async with engine.connect() as connection:
                assert (await connection.execute(text("PRAGMA page_size"))).scalar() == expected
                assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        finally:
            await engine.dispose()


def size(path: Path) -> int:
    return path.stat().st_size
