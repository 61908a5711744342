"""Matching ranks the post's whole city: a strong seeker across a district border is no longer
missed when the post's own district has plenty of candidates (it had, and the district was all
that was read). A reader confined to the district still sees only her own district's seekers."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from jinguo_contracts.examples import registered_worker
from jinguo_contracts.registry import CertificateIssuedV1
from jinguo_employment.bootstrap import queries_for
from jinguo_employment.domain.matching import rank
from jinguo_employment.handlers.commands import EmploymentHandlers, profile_of
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publish_history, publisher

from .conftest import COMMUNITY, employer_and_post, register_worker

ACROSS_THE_BORDER = "110102001001"
"""西城区, beside 东城区 (110101) where the post is."""
NEIGHBOURS = 100
"""As many candidates in the post's district as once stopped the search there."""


async def test_a_strong_seeker_across_the_district_border_is_recommended(
    outside: Any, employment: ServiceRuntime, handlers: EmploymentHandlers
) -> None:
    registry = await publisher(outside, "registry")
    for n in range(NEIGHBOURS):
        await register_worker(registry, f"w-near-{n:03d}", area=COMMUNITY)
    known = await register_worker(registry, "w-strong", area=ACROSS_THE_BORDER, priority=True)
    await caught_up(employment, known)
    _, post_id, position = await employer_and_post(handlers, kind="public_welfare")
    await caught_up(employment, position)

    ranked = await handlers.matches(post_id, 5)
    assert ranked[0].worker_id == "w-strong"
    assert ranked[0].priority
    assert any("same city" in reason for reason in ranked[0].reasons)
    assert all(m.worker_id.startswith("w-near-") for m in ranked[1:])

    district_reader = await handlers.matches(post_id, 5, area="110101")
    assert "w-strong" not in [m.worker_id for m in district_reader]
    assert len(district_reader) == 5


async def test_reading_only_those_who_could_rank_gives_the_whole_city_s_ranking(
    outside: Any, employment: ServiceRuntime, handlers: EmploymentHandlers
) -> None:
    """Seekers of every strength in three districts: the ranking that leaves unread those
    beyond the district who could not reach its best equals the whole city's, scored one by
    one, for market and public-welfare posts, any number asked for."""
    rng = random.Random(20)
    registry = await publisher(outside, "registry")
    districts = ("110101001001", "110101002003", "110102001001", "110105003002")
    for n in range(120):
        worker = f"w-{n:03d}"
        area = rng.choice(districts)
        events = registered_worker(
            worker,
            area=area,
            skills=rng.sample(["养老护理", "家政服务", "育婴"], rng.randint(0, 2)),
            occupation_codes=rng.choice([("4-10-01-05",), ("4-10-01-05", "4-10-01-06")]),
            hours_types=rng.sample(["full_time", "part_time", "hourly"], rng.randint(0, 2)),
            priority=rng.random() < 0.3,
        )
        if rng.random() < 0.3:
            events.append(
                CertificateIssuedV1(
                    worker_id=worker,
                    kind="vocational",
                    number=f"ZS-{n:03d}",
                    issued_on=date(2025, 1, 1),
                    occupation_code="4-10-01-05",
                    code_system="GB/T 6565-2015",
                    level=rng.choice((3, 4, 5)),
                    area_code=area,
                )
            )
        known = await publish_history(registry, worker, events, f"pool-{worker}")
    await caught_up(employment, known)
    queries = queries_for(employment)
    today = employment.clock.today()
    for n, kind in enumerate(("market", "public_welfare")):
        _, post_id, position = await employer_and_post(handlers, kind=kind, n=n)
        await caught_up(employment, position)
        post = await queries.post(post_id)
        assert post is not None
        profile = profile_of(post)
        city = await queries.candidates(profile, today)
        for best in (1, 5, 20):
            read = await queries.candidates(profile, today, best=best)
            assert len(read) < len(city) if best == 1 else len(read) <= len(city)
            assert await handlers.matches(post_id, best) == rank(profile, city, today, best)
