"""Matching ranks the post's whole city: a strong seeker across a district border is no longer
missed when the post's own district has plenty of candidates (it had, and the district was all
that was read). A reader confined to the district still sees only her own district's seekers."""

from __future__ import annotations

from typing import Any

from jinguo_employment.handlers.commands import EmploymentHandlers
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import caught_up, publisher

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
