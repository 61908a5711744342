"""Matching seekers to a post: an explainable score, never a decision (a person fills posts).

Every point a seeker earns comes with a reason, so staff can see why she ranks where she does:
occupation wanted, vocational certificate held, distance by area code, hours wanted, skills
asked for, hard-to-employ (priority) status, and how long she has been out of work.
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass, field
from datetime import date

from jinguo_contracts.areas import area_ancestors, area_prefix

OCCUPATION_WANTED = 30.0
OCCUPATION_GROUP_WANTED = 15.0
CERTIFICATE_HELD = 20.0
AREA_POINTS = {12: 20.0, 9: 14.0, 6: 8.0, 4: 3.0}
AREA_NAMES = {12: "same community", 9: "same street", 6: "same district", 4: "same city"}
HOURS_WANTED = 10.0
HOURS_ANY = 5.0
SKILL_POINTS = 5.0
SKILL_CAP = 15.0
PRIORITY_MARKET = 10.0
PRIORITY_PUBLIC_WELFARE = 25.0
MONTHS_UNEMPLOYED_CAP = 24
POINTS_PER_MONTH_UNEMPLOYED = 0.5


@dataclass(frozen=True, slots=True)
class PostProfile:
    occupation_code: str
    area_code: str
    hours_type: str
    kind: str
    skills: tuple[str, ...] = ()
    vocational_certificate: bool = False
    min_level: int | None = None


@dataclass(frozen=True, slots=True)
class Seeker:
    worker_id: str
    area_code: str
    occupation_codes: tuple[str, ...]
    hours_types: tuple[str, ...]
    unemployed_since: date
    skills: frozenset[str] = frozenset()
    priority_categories: tuple[str, ...] = ()
    vocational: dict[str, int] = field(default_factory=dict)
    """occupation code -> best level held (1 is the highest, 5 the entry level)."""


@dataclass(frozen=True, slots=True)
class Match:
    worker_id: str
    score: float
    reasons: list[str]
    priority: bool


def qualifies(post: PostProfile, seeker: Seeker) -> bool:
    """A post that requires a certificate considers only seekers who hold one."""
    if not post.vocational_certificate:
        return True
    level = seeker.vocational.get(post.occupation_code)
    if level is None:
        return False
    return post.min_level is None or level <= post.min_level


@functools.lru_cache(maxsize=65_536)
def common_area_level(one: str, other: str) -> int:
    """How many leading digits the narrowest area holding both codes has: 2 (the same
    province), 4 (city), 6 (district), 9 (street), 12 (community), 0 for none. Worked out on
    the areas the codes lie in, so that a city-level ``430100`` and a district ``430102`` share
    the city (4 digits), not a district. Cached: a city-wide ranking asks it of the same few
    hundred communities thousands of times."""
    shared = set(area_ancestors(one)) & set(area_ancestors(other))
    return max((len(area_prefix(code)) for code in shared), default=0)


def priority_points(post: PostProfile) -> float:
    return PRIORITY_PUBLIC_WELFARE if post.kind == "public_welfare" else PRIORITY_MARKET


def certificate_points(level: int) -> float:
    return CERTIFICATE_HELD + (5 - level) * 2


def most_points_outside_the_district(post: PostProfile) -> float:
    """The most a seeker in the post's city but outside its district can score for the post,
    her priority status and certificate aside: a bound that lets a ranking leave unread those
    who could not reach the best it already has among the post's neighbours."""
    skills = min(SKILL_CAP, SKILL_POINTS * len(post.skills))
    unemployed = MONTHS_UNEMPLOYED_CAP * POINTS_PER_MONTH_UNEMPLOYED
    return OCCUPATION_WANTED + AREA_POINTS[4] + HOURS_WANTED + skills + unemployed


def months_between(start: date, end: date) -> int:
    return max(0, (end.year - start.year) * 12 + end.month - start.month)


def assess(
    post: PostProfile, seeker: Seeker, today: date, *, explain: bool = False
) -> tuple[float, list[str]]:
    """The score and, when asked, the reason for every point."""
    reasons: list[str] = []
    score = 0.0
    code = post.occupation_code
    if code in seeker.occupation_codes:
        score += OCCUPATION_WANTED
        if explain:
            reasons.append(f"wants occupation {code} (+{OCCUPATION_WANTED:g})")
    elif any(c[:7] == code[:7] for c in seeker.occupation_codes):
        score += OCCUPATION_GROUP_WANTED
        if explain:
            reasons.append(
                f"wants an occupation in group {code[:7]} (+{OCCUPATION_GROUP_WANTED:g})"
            )
    level = seeker.vocational.get(code)
    if level is not None:
        points = certificate_points(level)
        score += points
        if explain:
            reasons.append(f"holds a level-{level} certificate in {code} (+{points:g})")
    shared = common_area_level(post.area_code, seeker.area_code)
    points = AREA_POINTS.get(shared, 0.0)
    if points:
        score += points
        if explain:
            reasons.append(f"lives in the {AREA_NAMES[shared]} (+{points:g})")
    if post.hours_type in seeker.hours_types:
        score += HOURS_WANTED
        if explain:
            reasons.append(f"wants {post.hours_type} work (+{HOURS_WANTED:g})")
    elif not seeker.hours_types:
        score += HOURS_ANY
        if explain:
            reasons.append(f"open to any hours (+{HOURS_ANY:g})")
    if post.skills and seeker.skills:
        matched = [s for s in post.skills if s in seeker.skills]
        if matched:
            points = min(SKILL_CAP, SKILL_POINTS * len(matched))
            score += points
            if explain:
                reasons.append(f"has the skills {', '.join(matched)} (+{points:g})")
    if seeker.priority_categories:
        points = priority_points(post)
        score += points
        if explain:
            categories = ", ".join(seeker.priority_categories)
            reasons.append(f"hard to employ: {categories} (+{points:g})")
    months = min(MONTHS_UNEMPLOYED_CAP, months_between(seeker.unemployed_since, today))
    if months:
        points = months * POINTS_PER_MONTH_UNEMPLOYED
        score += points
        if explain:
            reasons.append(f"out of work for {months} months (+{points:g})")
    return round(score, 2), reasons


def kth_best_score(post: PostProfile, seekers: list[Seeker], today: date, k: int) -> float | None:
    """The score a seeker must reach to rank among the best `k` of these; None when fewer
    than `k` qualify (then anyone may)."""
    scores = [assess(post, s, today)[0] for s in seekers if qualifies(post, s)]
    if len(scores) < k:
        return None
    return heapq.nlargest(k, scores)[-1]


def rank(post: PostProfile, seekers: list[Seeker], today: date, limit: int) -> list[Match]:
    """The best `limit` seekers, highest score first (ties by worker id, so the order is
    stable); reasons are worked out for those only."""
    scored = [
        (assess(post, seeker, today)[0], seeker) for seeker in seekers if qualifies(post, seeker)
    ]
    best = heapq.nsmallest(limit, scored, key=lambda pair: (-pair[0], pair[1].worker_id))
    matches = []
    for score, seeker in best:
        _, reasons = assess(post, seeker, today, explain=True)
        matches.append(
            Match(seeker.worker_id, score, reasons, priority=bool(seeker.priority_categories))
        )
    return matches
