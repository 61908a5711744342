"""Business dates come from the programme's clock (its time zone), never the server's date."""

from __future__ import annotations

from datetime import date

import pytest

from jinguo_employment.bootstrap import handlers_for
from jinguo_employment.handlers.commands import CandidateInput, CompleteTraining, ScheduleCourse
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.domain import InvalidCommandError
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publisher

from .conftest import context, register_worker


class FixedClock(ProgrammeClock):
    def __init__(self, today: date) -> None:
        super().__init__()
        self.day = today

    def today(self) -> date:
        return self.day


async def test_handlers_take_today_from_the_programme_clock(
    outside, employment: ServiceRuntime
) -> None:
    # a programme day long before the server's: a date after it is in the future, whatever the
    # server's own calendar says
    employment.clock = FixedClock(date(2025, 3, 10))
    handlers = handlers_for(employment)
    position = await register_worker(await publisher(outside, "registry"), "w-clock")
    course = await handlers.schedule_course(
        ScheduleCourse(
            title="家政服务员培训班",
            trade="家政服务",
            occupation_code="4-10-01-06",
            provider="东城区职业技能培训学校",
            area_code="110101",
            seats=5,
            starts_on=date(2025, 3, 1),
            ends_on=date(2025, 3, 31),
            subsidy_per_trainee=0,
        ),
        context("course-clock"),
    )
    await caught_up(employment, position)
    await handlers.enrol(course.aggregate_id, CandidateInput(worker_id="w-clock"), context("e"))
    with pytest.raises(InvalidCommandError) as refused:
        await handlers.complete(
            course.aggregate_id,
            CompleteTraining(
                worker_id="w-clock", passed=True, score=80, completed_on=date(2025, 3, 11)
            ),
            context("too-early"),
        )
    assert refused.value.extensions == {"field": "completed_on"}
    await handlers.complete(
        course.aggregate_id,
        CompleteTraining(
            worker_id="w-clock", passed=True, score=80, completed_on=date(2025, 3, 10)
        ),
        context("on-the-day"),
    )
