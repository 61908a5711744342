"""The registry's demo over its own API, twice: its households are one cleared (清零) by the
wife's re-employment and one still waiting, and loading again records nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from jinguo_registry.bootstrap import DEV_KEY_FILE, RegistryService
from jinguo_registry.demo import load_registry_demo
from jinguo_registry.demo_programme import register_demo_areas
from jinguo_shared.testing import runtimes


def quiet(_done: int, _total: int) -> None:
    pass


async def test_the_demo_households_are_cleared_and_not_and_load_once(
    jinguo_env: dict[str, str],
) -> None:
    service = RegistryService()
    async with runtimes(service, jinguo_env["JINGUO_NATS_URL"]) as opener:
        runtime = await opener()
        await service.seed_development(runtime)
        key = (runtime.settings.data_dir / DEV_KEY_FILE).read_text().strip()
        system = FastAPI()
        system.mount("/registry", service.create_app(runtime))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=system),
            base_url="http://jinguo",
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            await runtime.projections.wait_for_head("REGISTRY", ["api_clients"], 10)
            await register_demo_areas(client)
            first = await load_registry_demo(client, quiet, workers=5, residents=5)

            async def household(household_id: str) -> dict[str, Any]:
                answer = await client.get(f"/registry/households/{household_id}")
                body: dict[str, Any] = answer.json()
                return body

            cleared, waiting = first.household_ids
            for _ in range(300):  # the policy clears the first while the second is recorded
                if (await household(cleared))["cleared_on"] is not None and (
                    await household(waiting)
                )["recognised_on"] is not None:
                    break
                await asyncio.sleep(0.05)
            done = await household(cleared)
            spouse = next(m["person_id"] for m in done["members"] if m["relation"] == "spouse")
            assert (done["cleared_on"], done["cleared_by_person_id"]) == ("2026-06-01", spouse)
            still = await household(waiting)
            assert (still["recognised_on"], still["cleared_on"]) == ("2026-04-15", None)
            stream = runtime.store.stream
            before = (await runtime.nc.jetstream().stream_info(stream)).state.last_seq
            assert await load_registry_demo(client, quiet, workers=5, residents=5) == first
            await asyncio.sleep(1)  # a reaction the second load caused would land by now
            after = (await runtime.nc.jetstream().stream_info(stream)).state.last_seq
            assert after == before
