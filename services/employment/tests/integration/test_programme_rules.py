"""What the registry's programme year asks of employment, learned from its events alone: a
code outside the register of areas is refused once the register holds any area, and a fact
dated in a closed period is taken only as a correction. Real nats-server, both databases."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from jinguo_contracts.areas import AreaRegisteredV1, StationRegisteredV1
from jinguo_contracts.periods import ReportReturnedV1, ReportSubmittedV1
from jinguo_employment.handlers.commands import (
    EmploymentHandlers,
    PublishPost,
    RegisterEmployer,
    ScheduleCourse,
    WageInput,
)
from jinguo_shared.access import Jurisdiction
from jinguo_shared.area_register import UnknownAreaError
from jinguo_shared.periods import PeriodClosedError
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish, publisher

from .conftest import COMMUNITY, context

STREET = "110101001"
DISTRICT_OFFICE = Jurisdiction("110101")


def office(command_id: str, correction: str | None = None) -> Any:
    return dataclasses.replace(
        context(command_id), jurisdiction=DISTRICT_OFFICE, correction=correction
    )


async def register(
    outside: Any, employment: ServiceRuntime, *codes: str, wait: bool = True
) -> None:
    registry = await publisher(outside, "registry")
    position = ""
    for code in codes:
        event = AreaRegisteredV1(
            area_code=code, name=code, level="street", parent_code="110101", urban=True
        )
        position = await publish(registry, "area", code, event, f"area-{code}")
    if wait:
        await caught_up(employment, position)


def post(employer_id: str, area: str, published_on: date) -> PublishPost:
    return PublishPost(
        employer_id=employer_id,
        title="养老护理员",
        occupation_code="4-10-01-05",
        area_code=area,
        wage=WageInput(amount=4500, unit="month"),
        hours_type="full_time",
        openings=1,
        published_on=published_on,
    )


async def test_a_code_outside_the_register_is_refused_once_it_holds_areas(
    outside: Any, employment: ServiceRuntime, handlers: EmploymentHandlers
) -> None:
    employer = RegisterEmployer(
        name="东四社区养老驿站", credit_code="91110101MA01234567", area_code=STREET
    )
    # no register yet: codes are checked by their form only
    await handlers.register_employer(employer, office("before"))
    await register(outside, employment, STREET, COMMUNITY)
    other = RegisterEmployer(
        name="景山社区家政", credit_code="91110101MA0123456X", area_code="110101002"
    )
    with pytest.raises(UnknownAreaError) as refused:
        await handlers.register_employer(other, office("unknown"))
    assert refused.value.extensions == {"field": "area_code"}
    # an area registered a moment ago is known, however far behind this service's projector is
    await register(outside, employment, "110101002", wait=False)
    await handlers.register_employer(other, office("known-now"))


async def test_a_closed_half_year_takes_a_post_only_as_a_correction(
    outside: Any, employment: ServiceRuntime, handlers: EmploymentHandlers
) -> None:
    employer = await handlers.register_employer(
        RegisterEmployer(
            name="东四社区养老驿站", credit_code="91110101MA01234567", area_code=STREET
        ),
        office("employer"),
    )
    registry = await publisher(outside, "registry")
    report = f"{STREET}-2026H1"
    submitted = ReportSubmittedV1(
        report_id=report,
        area_code=STREET,
        period="2026H1",
        figures={},
        submitted_by="street-office",
        submitted_on=date(2026, 7, 3),
    )
    await caught_up(employment, await publish(registry, "report", report, submitted, "submit"))
    march = post(employer.aggregate_id, COMMUNITY, date(2026, 3, 2))
    with pytest.raises(PeriodClosedError) as refused:
        await handlers.publish_post(march, office("march"))
    assert refused.value.extensions["period"] == "2026H1"
    assert refused.value.extensions["field"] == "published_on"
    # the other half is open, and a correction says why it comes late
    await handlers.publish_post(
        post(employer.aggregate_id, COMMUNITY, date(2026, 8, 3)), office("aug")
    )
    late = await handlers.publish_post(march, office("march-late", correction="补录3月岗位信息"))
    assert late.events
    # a returned report opens the period again
    returned = ReportReturnedV1(
        report_id=report,
        area_code=STREET,
        period="2026H1",
        decided_by="district",
        decided_on=date(2026, 7, 5),
        reason="缺少台账",
    )
    await caught_up(employment, await publish(registry, "report", report, returned, "return"))
    again = post(employer.aggregate_id, COMMUNITY, date(2026, 4, 1))
    await handlers.publish_post(again, office("april"))


async def test_a_course_names_a_station_of_its_area(
    outside: Any, employment: ServiceRuntime, handlers: EmploymentHandlers
) -> None:
    await register(outside, employment, STREET, COMMUNITY, "110101002")
    registry = await publisher(outside, "registry")
    for station, area in (("base-east", STREET), ("base-west", "110101002")):
        event = StationRegisteredV1(
            station_id=station,
            area_code=area,
            kind="training_base",
            name=f"培训基地 {area}",
            opened_on=date(2020, 1, 1),
        )
        await caught_up(employment, await publish(registry, "station", station, event, station))

    def course(station: str) -> ScheduleCourse:
        return ScheduleCourse(
            title="养老护理员培训班",
            trade="养老护理",
            occupation_code="4-10-01-05",
            provider="东城区职业技能培训学校",
            area_code=COMMUNITY,
            seats=20,
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 31),
            subsidy_per_trainee=0,
            station_id=station,
        )

    await handlers.schedule_course(course("base-east"), office("east"))
    for station in ("base-west", "no-such-station"):
        with pytest.raises(UnknownAreaError) as refused:
            await handlers.schedule_course(course(station), office(station))
        assert refused.value.extensions == {"field": "station_id"}
