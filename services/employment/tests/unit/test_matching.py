"""The matching score: every point explained, priority and qualification rules."""

from __future__ import annotations

from datetime import date

from jinguo_employment.domain.matching import (
    PostProfile,
    Seeker,
    assess,
    certificate_points,
    common_area_level,
    kth_best_score,
    most_points_outside_the_district,
    priority_points,
    qualifies,
    rank,
)

TODAY = date(2026, 11, 1)
POST = PostProfile(
    occupation_code="4-10-01-05",
    area_code="110101001001",
    hours_type="full_time",
    kind="public_welfare",
    skills=("养老护理",),
)


def seeker(worker_id: str, **overrides: object) -> Seeker:
    values: dict[str, object] = {
        "worker_id": worker_id,
        "area_code": "110101002001",
        "occupation_codes": ("4-10-01-05",),
        "hours_types": ("full_time",),
        "unemployed_since": date(2026, 5, 1),
    }
    values.update(overrides)
    return Seeker(**values)  # type: ignore[arg-type]


def test_every_point_has_a_reason() -> None:
    score, reasons = assess(
        POST,
        seeker(
            "w1",
            area_code="110101001001",
            skills=frozenset({"养老护理"}),
            priority_categories=("age_40_50",),
            vocational={"4-10-01-05": 4},
        ),
        TODAY,
        explain=True,
    )
    assert score == 30 + 22 + 20 + 10 + 5 + 25 + 3
    assert len(reasons) == 7
    assert any("same community" in r for r in reasons)
    assert any("age_40_50" in r for r in reasons)


def test_closer_priority_long_unemployed_seekers_rank_higher() -> None:
    ranked = rank(
        POST,
        [
            seeker("far", area_code="110105001001"),
            seeker("near", area_code="110101001002"),
            seeker("priority", priority_categories=("disabled",)),
            seeker("long", unemployed_since=date(2024, 1, 1)),
        ],
        TODAY,
        limit=3,
    )
    assert [m.worker_id for m in ranked] == ["priority", "long", "near"]
    assert ranked[0].priority
    assert ranked[0].reasons


def test_a_certificate_requirement_excludes_the_uncertified() -> None:
    post = PostProfile(
        occupation_code="4-10-01-05",
        area_code="110101",
        hours_type="part_time",
        kind="market",
        vocational_certificate=True,
        min_level=4,
    )
    assert not qualifies(post, seeker("none"))
    assert not qualifies(post, seeker("entry", vocational={"4-10-01-05": 5}))
    assert qualifies(post, seeker("skilled", vocational={"4-10-01-05": 3}))


def test_area_codes_compare_by_level() -> None:
    assert common_area_level("110101001001", "110101001002") == 9
    assert common_area_level("110101", "110101001002") == 6
    assert common_area_level("110101", "120101") == 0
    # on the areas, not the digits: two city codes share the city, not a district
    assert common_area_level("430100", "430100") == 4
    assert common_area_level("430100", "430102001001") == 4
    assert common_area_level("430000", "430102") == 2
    # a city without districts (东莞): its streets share the city
    assert common_area_level("441900003", "441900004001") == 4


def test_outside_the_district_a_score_never_passes_its_ceiling() -> None:
    """The bound city-wide matching prunes with: everything but priority and certificate,
    at its most for a seeker across the district border (same city)."""
    for post in (POST, PostProfile("4-10-01-05", "110101001001", "hourly", "market", skills=())):
        strongest = seeker(
            "w-far",
            area_code="110102001001",
            hours_types=(post.hours_type,),
            skills=frozenset({"养老护理", "家政服务", "育婴", "保洁"}),
            unemployed_since=date(2020, 1, 1),
            priority_categories=("age_40_50",),
            vocational={"4-10-01-05": 1},
        )
        score, _ = assess(post, strongest, TODAY)
        ceiling = most_points_outside_the_district(post)
        assert score == ceiling + priority_points(post) + certificate_points(1)
        across_the_city_border = seeker("w-farther", area_code="110201001001")
        assert assess(post, across_the_city_border, TODAY)[0] < ceiling


def test_the_kth_best_score_is_what_a_seeker_must_reach() -> None:
    ranked = [seeker(f"w{n}", hours_types=() if n % 2 else ("full_time",)) for n in range(5)]
    scores = sorted((assess(POST, s, TODAY)[0] for s in ranked), reverse=True)
    assert kth_best_score(POST, ranked, TODAY, 3) == scores[2]
    assert kth_best_score(POST, ranked, TODAY, 6) is None
