"""The rights figures other services read (`RightsFiguresPublished` on INSPECTIONS): counted by
business date at every level of the area hierarchy, small counts hidden, published again only
when they change and never by a replay; against a real nats-server and both databases."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import httpx

from jinguo_contracts.access import AgencyRegisteredV1
from jinguo_contracts.inspections import RightsFiguresPublishedV1
from jinguo_rights.bootstrap import inspections_executor
from jinguo_rights.domain.figures import CaseFacts
from jinguo_rights.handlers.commands import (
    AppointOfficer,
    CloseCase,
    Complainant,
    OpenCase,
    RecordAction,
    Respondent,
    RightsHandlers,
)
from jinguo_rights.policies.figures import RightsFiguresPolicy
from jinguo_rights.projections.figure_facts import FigureFacts
from jinguo_shared.commands import CommandResult
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore, read_event
from jinguo_shared.projections.consistency import Position
from jinguo_shared.reaction_progress import ReactionProgress
from jinguo_shared.reactions import reaction_command_id
from jinguo_shared.runtime import ServiceRuntime

from .conftest import Agency, context
from .test_erasure import registry
from .test_need_to_know import CASE, appoint

FED = "agency-fed-figures"
COMMUNITY = "110101001001"
OTHER_COMMUNITY = "110101002001"
STREET = "110101001"
DISTRICT = "110101"


class CountingFacts(FigureFacts):
    counted = 0

    async def of_area(self, area_code: str, year: int) -> list[CaseFacts]:
        self.counted += 1
        return await super().of_area(area_code, year)

    async def of_agency(self, agency_id: str, year: int) -> list[CaseFacts]:
        self.counted += 1
        return await super().of_agency(agency_id, year)


def intake(area_code: str, opened_on: date) -> OpenCase:
    return OpenCase(
        channel="visit",
        category="domestic_violence",
        area_code=area_code,
        complainant=Complainant(name="李某", phone="13900139000"),
        respondent=Respondent(kind="person", name="张某"),
        summary="丈夫多次殴打",
        opened_on=opened_on,
    )


async def reacted(rights: ServiceRuntime, result: CommandResult) -> None:
    """Until the figures policy has reacted to the command's events (bounded)."""
    progress = ReactionProgress(rights.engine, rights.nc.jetstream(), [RightsFiguresPolicy])
    await progress.wait_for(Position.parse(result.position), 20)


async def published(rights: ServiceRuntime, figures_id: str) -> list[RightsFiguresPublishedV1]:
    history = await EventStore(rights.nc, "inspections", None).load("figures", figures_id)
    events = [event.payload for event in history]
    assert all(isinstance(e, RightsFiguresPublishedV1) for e in events)
    return events  # type: ignore[return-value]


async def latest(rights: ServiceRuntime, figures_id: str) -> dict[str, dict[str, Any]]:
    events = await published(rights, figures_id)
    assert events, f"no figures published for {figures_id}"
    return events[-1].figures


async def test_figures_count_by_business_date_at_every_level_and_hide_small_counts(
    handlers: RightsHandlers, rights: ServiceRuntime, jinguo_env: dict[str, str]
) -> None:
    await registry(
        jinguo_env,
        (
            "agency",
            FED,
            AgencyRegisteredV1(
                agency_id=FED, name="区妇联", kind="womens_federation", area_code=DISTRICT
            ),
        ),
    )
    await handlers.appoint_officer(FED, "ann", AppointOfficer(role="officer"), context())
    ann = await handlers.viewer(FED, "ann")
    # entered in November, taken in in March: they count in March
    march = [
        await handlers.open_case(ann, intake(COMMUNITY, date(2026, 3, day)), context())
        for day in (9, 10, 11)
    ]
    for day in (2, 3, 4, 5):
        last = await handlers.open_case(ann, intake(OTHER_COMMUNITY, date(2026, 3, day)), context())
    await reacted(rights, last)

    district = await latest(rights, f"{DISTRICT}-2026")
    assert district["cases_opened"]["2026-03"] == 7
    assert district["cases_opened"]["2026Q1"] == district["cases_opened"]["2026"] == 7
    assert district["cases_opened"]["2026-11"] == 0
    assert district["opened_domestic_violence"]["2026H1"] == 7
    assert district["cases_closed"]["2026"] == 0
    for small in (COMMUNITY, STREET):
        figures = await latest(rights, f"{small}-2026")
        assert figures["cases_opened"]["2026-03"] == "<5"
        assert figures["cases_opened"]["2026"] == "<5"
    for above in ("110000", "110100"):
        assert (await latest(rights, f"{above}-2026"))["cases_opened"]["2026"] == 7
    agency = (await published(rights, f"agency-{FED}-2026"))[-1]
    assert (agency.kind, agency.agency_id, agency.area_code) == ("agency", FED, None)
    assert agency.figures["cases_opened"]["2026-03"] == 7
    [first] = await published(rights, f"{COMMUNITY}-2026")
    assert (first.kind, first.area_code, first.area_level) == ("area", COMMUNITY, "community")

    # closing and legal aid change them, in the months they happened
    before = len(await published(rights, f"{DISTRICT}-2026"))
    aid = await handlers.record_action(
        ann,
        march[0].aggregate_id,
        RecordAction(action="legal_aid", taken_on=date(2026, 4, 1), notes="申请法律援助"),
        context(),
    )
    await reacted(rights, aid)  # else the case files may hold the closing already
    closed = await handlers.close(
        ann,
        march[0].aggregate_id,
        CloseCase(
            outcome="violence_stopped", complainant_satisfied=True, closed_on=date(2026, 4, 20)
        ),
        context(),
    )
    await reacted(rights, closed)
    changes = await published(rights, f"{DISTRICT}-2026")
    assert len(changes) == before + 2
    district = changes[-1].figures
    assert district["cases_closed"]["2026-04"] == "<5"
    assert district["cases_closed"]["2026-03"] == 0
    assert district["opened_and_closed"]["2026-03"] == "<5"
    assert district["legal_aid_cases"]["2026-04"] == "<5"
    assert district["domestic_violence_stopped"]["2026Q2"] == "<5"
    assert district["closed_on_time"]["2026"] == 0  # due 5 working days after 9 March
    assert district["cases_opened"]["2026"] == 7

    # an event delivered again publishes nothing; neither does a rebuild of the case files
    everything = {
        f: len(await published(rights, f))
        for f in (f"{a}-2026" for a in ("110000", "110100", DISTRICT, STREET, COMMUNITY))
    }
    counting = CountingFacts(rights.engine, rights.projections)
    policy = RightsFiguresPolicy(inspections_executor(rights), counting, rights.projections)
    recorded = await read_event(rights.nc.jetstream(), "RIGHTS", closed.seq)
    again = CommandContext(
        command_id=reaction_command_id(policy.name, recorded.envelope.id),
        correlation_id=recorded.envelope.correlationid,
        actor=f"policy:{policy.name}",
    )
    await policy.when_a_case_counts_publish_its_figures(recorded.payload, recorded, again)  # type: ignore[arg-type]
    assert counting.counted == 6  # five areas and the agency, for 2026
    await policy.when_a_case_counts_publish_its_figures(  # type: ignore[arg-type]
        recorded.payload, recorded, dataclasses.replace(again, command_id="another delivery")
    )
    assert counting.counted == 6  # the case files have not changed: nothing counted again
    await rights.projections.rebuild("case_files")
    elsewhere = await handlers.open_case(ann, intake(OTHER_COMMUNITY, date(2026, 11, 2)), context())
    await reacted(rights, elsewhere)
    assert {f: len(await published(rights, f)) for f in everything} == everything | {
        f"{a}-2026": everything[f"{a}-2026"] + 1 for a in ("110000", "110100", DISTRICT)
    }


async def test_the_figures_over_http_after_a_case_and_within_the_jurisdiction(
    http: httpx.AsyncClient, agencies: dict[str, Agency]
) -> None:
    fed, street = agencies["womens_federation"], agencies["street_office"]
    await appoint(http, fed, "ann", "officer")
    opened = await http.post(
        "/cases",
        json=CASE | {"opened_on": "2026-02-27"},
        headers=fed.headers("ann") | {"Idempotency-Key": "figures-1"},
    )
    assert opened.status_code == 201, opened.text
    after = {"after": opened.json()["position"]}

    district = await http.get("/figures/110101-2026", params=after, headers=fed.headers("ann"))
    assert district.status_code == 200, district.text
    body = district.json()
    assert (body["kind"], body["area_code"], body["area_level"]) == ("area", DISTRICT, "district")
    assert body["figures"]["cases_opened"]["2026-02"] == "<5"
    assert body["figures"]["cases_opened"]["2026-11"] == 0
    own = await http.get(
        f"/figures/agency-{fed.agency_id}-2026", params=after, headers=fed.headers("ann")
    )
    assert own.status_code == 200, own.text
    assert own.json()["figures"] == body["figures"]

    # a street office sees its own street's figures, not the district's nor another agency's
    assert (await http.get(f"/figures/{STREET}-2026", headers=street.headers())).status_code == 200
    assert (await http.get("/figures/110101-2026", headers=street.headers())).status_code == 404
    foreign = await http.get(f"/figures/agency-{fed.agency_id}-2026", headers=street.headers())
    assert foreign.status_code == 403
    assert foreign.json()["field"] == "figures_id"
    # nothing counted there that year
    assert (await http.get("/figures/110101-2025", headers=fed.headers())).status_code == 404
