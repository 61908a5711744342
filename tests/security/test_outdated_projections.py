"""A service refuses to serve projection tables that an older version built without a column
this version reads, and names the rebuild that fixes it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from jinguo_registry.bootstrap import RegistryService
from jinguo_shared.runtime import OutdatedProjectionsError
from jinguo_shared.testing import runtimes


async def test_tables_of_an_older_version_are_refused_until_rebuilt(
    jinguo_env: dict[str, str],
) -> None:
    async with runtimes(RegistryService(), jinguo_env["JINGUO_NATS_URL"]) as open_registry:
        first = await open_registry("tool")
        async with first.engine.begin() as connection:
            # as the version before officer-bound keys left it
            await connection.execute(text("ALTER TABLE api_clients_g1 DROP COLUMN officer_id"))
        await first.close()

        with pytest.raises(OutdatedProjectionsError) as refused:
            await open_registry("api")
        assert "api_clients" in str(refused.value)
        assert "jinguo replay registry --projection" in str(refused.value)
        serving = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "jinguo"),
            *("serve", "registry", "--role", "api"),
            stderr=asyncio.subprocess.PIPE,
        )
        _, said = await asyncio.wait_for(serving.communicate(), 60)
        assert serving.returncode == 2
        assert "\njinguo: registry: the tables of api_clients" in said.decode()
        assert "Traceback" not in said.decode()

        tool = await open_registry("tool")
        await tool.projections.rebuild("api_clients")
        await tool.close()
        served = await open_registry("api")
        assert served.projections.active("api_clients").generation == 2
