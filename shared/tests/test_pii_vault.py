"""Per-person keys: created once however many processes race, gone for good when erased."""

from __future__ import annotations

import asyncio
import os

from jinguo_shared.crypto import ERASED, PiiVault
from jinguo_shared.db import kernel_metadata, make_engine, writing


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
