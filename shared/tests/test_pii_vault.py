"""Per-person keys: created once however many processes race, gone for good when erased:
not even a copy left in the database's files."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.crypto import ERASED, PiiVault
from jinguo_shared.db import kernel_metadata, make_engine, pii_keys, writing
from jinguo_shared.projections.batch import ProjectionBatch


async def test_processes_racing_to_create_a_key_end_up_with_the_same_one(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        async with writing(engine) as connection:
            await connection.run_sync(kernel_metadata.create_all)
        master = os.urandom(32)
        first, second = PiiVault(engine, master), PiiVault(engine, master)
        people = {f"person-{n}" for n in range(20)}
        await first.prepare({"person-0", "person-1"}, create=True)
        await asyncio.gather(
            first.prepare(people, create=True), second.prepare(people, create=True)
        )
        for person in people:
            assert second.unseal(person, first.seal(person, "王芳")) == "王芳"
        late = PiiVault(engine, master)
        await late.prepare(people, create=False)
        assert late.unseal("person-7", second.seal("person-7", "13800000000")) == "13800000000"

        sealed = first.seal("person-3", "李娜")
        await first.erase("person-3")
        await second.prepare({"person-3"}, create=False, fresh=True)
        assert second.unseal("person-3", sealed) == ERASED
    finally:
        await engine.dispose()


async def wrapped_key(engine: AsyncEngine, subject_id: str) -> bytes:
    async with engine.connect() as connection:
        stored = await connection.scalar(
            select(pii_keys.c.wrapped_key).where(pii_keys.c.subject_id == subject_id)
        )
    assert isinstance(stored, bytes)
    return bytes(stored)


def traces(key: bytes) -> list[bytes]:
    """The key as it could lie in a file: raw, or in base64 (plain or URL-safe)."""
    return [key, base64.b64encode(key), base64.urlsafe_b64encode(key)]


def files_holding(directory: Path, secrets: list[bytes]) -> list[str]:
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}" for secret in secrets if secret in data]
    return found


async def people_with_keys(vault: PiiVault, count: int) -> list[str]:
    """Enough people, in batches, for their keys to fill and split several pages."""
    people = [f"person-{n}" for n in range(count)]
    for start in range(0, count, 100):
        await vault.prepare(people[start : start + 100], create=True)
    return people


async def test_an_erased_key_leaves_no_copy_in_the_database(
    database_url: str, tmp_path: Path
) -> None:
    """SQLite: no file (database, WAL, shared memory) holds her wrapped key, raw or in base64,
    the moment erasing returns. PostgreSQL: the row is gone and its dead tuple vacuumed."""
    engine = make_engine(database_url)
    try:
        async with writing(engine) as connection:
            await connection.run_sync(kernel_metadata.create_all)
        vault = PiiVault(engine, os.urandom(32))
        people = await people_with_keys(vault, 2000)
        erased = [people[7], people[1500]]
        keys = [await wrapped_key(engine, person) for person in erased]
        kept = await wrapped_key(engine, people[8])
        for person in erased:
            await vault.erase(person)

        async with engine.connect() as connection:
            left = await connection.scalar(
                select(func.count()).where(pii_keys.c.subject_id.in_(erased))
            )
        assert left == 0
        if engine.dialect.name == "sqlite":
            assert files_holding(tmp_path, [t for key in keys for t in traces(key)]) == []
            assert files_holding(tmp_path, [kept]), "the scan finds a key that is still there"
        else:
            async with engine.connect() as connection:
                dead, vacuums = (
                    await connection.execute(
                        text(
                            "SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables"
                            " WHERE relname = 'pii_keys'"
                        )
                    )
                ).one()
            assert (dead, vacuums >= 1) == (0, True)
    finally:
        await engine.dispose()


async def test_keys_a_projection_deletes_leave_no_copy_in_the_sqlite_files(
    tmp_path: Path,
) -> None:
    """Rights and orders erase people in projections (a batch deleting from pii_keys, through
    SQLAlchemy): the commit is followed by a truncating checkpoint too."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    try:
        async with writing(engine) as connection:
            await connection.run_sync(kernel_metadata.create_all)
        vault = PiiVault(engine, os.urandom(32))
        people = await people_with_keys(vault, 1000)
        key = await wrapped_key(engine, people[500])
        batch = ProjectionBatch()
        batch.delete(pii_keys, {"subject_id": people[500]})
        async with writing(engine) as connection:
            await batch.flush(connection)
        for _ in range(200):  # the checkpoint thread empties the log right after the commit
            if not files_holding(tmp_path, traces(key)):
                break
            await asyncio.sleep(0.05)
        assert files_holding(tmp_path, traces(key)) == []
    finally:
        await engine.dispose()
