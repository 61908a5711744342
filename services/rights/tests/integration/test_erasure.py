"""A worker erased by the registry (`WorkerErased`): nothing in the rights service links a
remaining fact to her, her cases still count, and a replay comes to the same; against a real
nats-server and both databases."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from jinguo_contracts.access import AgencyRegisteredV1
from jinguo_contracts.registry import WorkerErasedV1
from jinguo_rights.bootstrap import queries_for
from jinguo_rights.handlers.commands import (
    AppointOfficer,
    CloseCase,
    Complainant,
    OpenCase,
    RecordAction,
    Respondent,
    RightsHandlers,
)
from jinguo_rights.projections.queries import RightsQueries
from jinguo_shared.domain import InvalidCommandError
from jinguo_shared.eventstore import EventStore
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.settings import Settings

from .conftest import TODAY, context

FED = "agency-fed"


def intake(worker_id: str | None, summary: str) -> OpenCase:
    return OpenCase(
        channel="visit",
        category="domestic_violence",
        area_code="110101001001",
        complainant=Complainant(worker_id=worker_id, name="王桂英", phone="13900139000"),
        respondent=Respondent(kind="person", name="张某"),
        summary=summary,
        opened_on=TODAY,
    )


async def registry(jinguo_env: dict[str, str], *events: tuple[str, str, Any]) -> str:
    """Publish as the registry does, with its own NATS user; the position of the last."""
    nc = await connect_nats(Settings(), jinguo_env["JINGUO_NATS_URL"], "t", user="registry")
    try:
        store = EventStore(nc, "registry", None)
        for aggregate, aggregate_id, event in events:
            seq = await store.append(aggregate, aggregate_id, 0, [event], context())
    finally:
        await nc.close()
    return f"REGISTRY:{seq}"


async def unlinked(queries: RightsQueries, worker_id: str) -> None:
    """Until the erasure policy has unlinked every case of hers (bounded)."""
    for _ in range(1000):
        if not await queries.cases_of_complainant(worker_id):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"cases of {worker_id} still name her")


async def rows_naming(runtime: ServiceRuntime, needle: str) -> list[tuple[str, Any]]:
    """Every row of every table of the service's database holding `needle`."""
    found = []
    async with runtime.engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        for table in tables:
            for row in await connection.execute(text(f'SELECT * FROM "{table}"')):
                if needle in str(tuple(row)):
                    found.append((table, tuple(row)))
    return found


async def snapshot(runtime: ServiceRuntime, *names: str) -> dict[str, list[tuple[Any, ...]]]:
    rows = {}
    async with runtime.engine.connect() as connection:
        for name in names:
            for table in runtime.projections.active(name).metadata.sorted_tables:
                result = await connection.execute(select(table))
                rows[table.name.rsplit("_g", 1)[0]] = sorted(tuple(r) for r in result)
    return rows


async def test_an_erased_worker_is_unlinked_from_her_cases_which_still_count(
    handlers: RightsHandlers, rights: ServiceRuntime, jinguo_env: dict[str, str]
) -> None:
    await registry(
        jinguo_env,
        (
            "agency",
            FED,
            AgencyRegisteredV1(
                agency_id=FED, name="妇联", kind="womens_federation", area_code="110101"
            ),
        ),
    )
    await handlers.appoint_officer(FED, "ann", AppointOfficer(role="officer"), context())
    await handlers.appoint_officer(FED, "sam", AppointOfficer(role="supervisor"), context())
    ann, sam = await handlers.viewer(FED, "ann"), await handlers.viewer(FED, "sam")
    worker_id = f"w{uuid.uuid4().hex}"
    first = await handlers.open_case(ann, intake(worker_id, "丈夫多次殴打"), context())
    second = await handlers.open_case(ann, intake(worker_id, "前夫上门骚扰"), context())
    other = await handlers.open_case(ann, intake(None, "婆家限制人身自由"), context())
    await handlers.record_action(
        ann,
        first.aggregate_id,
        RecordAction(action="protection_order", taken_on=TODAY, notes="协助申请保护令"),
        context(),
    )
    await handlers.close(
        ann,
        second.aggregate_id,
        CloseCase(outcome="violence_stopped", complainant_satisfied=True, closed_on=TODAY),
        context(),
    )
    queries = queries_for(rights, handlers)
    await rights.projections.wait_for(other.position, ["case_files"], 10)
    for case in (first, second):
        found = await queries.case_holders(case.aggregate_id)
        assert found is not None
        read = await handlers.record_view(
            sam,
            case.aggregate_id,
            complainant_id=found[0]["complainant_id"],
            case_agency_id=FED,
            basis="supervisor",
            purpose="督办",
            ctx=context(),
        )
    await rights.projections.wait_for(read.position, ["case_access_log"], 10)
    assert len(await queries.views(complainant_id=worker_id, case_agency_id=FED)) == 2
    report = await queries.report(
        agency_id=FED, area=None, opened_from=None, opened_to=None, today=TODAY, shared=False
    )

    erased = await registry(
        jinguo_env, ("worker", worker_id, WorkerErasedV1(worker_id=worker_id, reason="本人申请"))
    )
    await rights.projections.wait_for(erased, ["complainant_erasure"], 10)
    await unlinked(queries, worker_id)

    # nothing readable names her: no row of any table but the mark that she is erased
    assert [table for table, _ in await rows_naming(rights, worker_id)] == ["aggregate_states"]
    [(_, mark)] = await rows_naming(rights, worker_id)
    assert mark[0] == "complainant"
    # her access history is no longer listed under her id
    assert await queries.views(complainant_id=worker_id, case_agency_id=FED) == []
    # her cases remain, unlinked, their sealed details gone, still counted
    rows = []
    for case in (first, second, other):
        found = await queries.case_holders(case.aggregate_id)
        assert found is not None
        rows.append(found[0])
    shown = await queries.present(rows, TODAY, full=True)
    for case in shown[:2]:
        assert case["complainant_worker_id"] is None
        assert case["complainant_id"] != worker_id
        assert (case["complainant_name"], case["summary"], case["respondent_name"]) == (
            None,
            None,
            None,
        )
    assert shown[0]["actions"][0]["notes"] is None
    assert len({case["complainant_id"] for case in shown[:2]}) == 2  # not even linked together
    assert shown[2]["complainant_name"] == "王桂英"
    assert (
        await queries.report(
            agency_id=FED, area=None, opened_from=None, opened_to=None, today=TODAY, shared=False
        )
        == report
    )

    # her case goes on, with what is recorded from now on readable again
    later = await handlers.record_action(
        ann,
        first.aggregate_id,
        RecordAction(action="counselling", taken_on=TODAY, notes="心理疏导两次"),
        context(),
    )
    await rights.projections.wait_for(later.position, ["case_files"], 10)
    found = await queries.case_holders(first.aggregate_id)
    assert found is not None
    [again] = await queries.present([found[0]], TODAY, full=True)
    assert [a["notes"] for a in again["actions"]] == [None, "心理疏导两次"]
    # and no case can name her again
    with pytest.raises(InvalidCommandError, match="erased") as refused:
        await handlers.open_case(ann, intake(worker_id, "再次求助"), context())
    assert refused.value.extensions["field"] == "complainant.worker_id"

    # a replay of the logs comes to the same
    names = ("case_files", "case_access_log")
    live = await snapshot(rights, *names)
    await rights.projections.rebuild(*names)
    assert await snapshot(rights, *names) == live
