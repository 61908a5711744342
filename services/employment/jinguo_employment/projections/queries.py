"""Reads over the employment projections, including the candidate pool for matching."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from sqlalchemy import (
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    or_,
    select,
    true,
    type_coerce,
    union,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_contracts.areas import area_prefix
from jinguo_employment.domain.matching import (
    PostProfile,
    Seeker,
    certificate_points,
    kth_best_score,
    most_points_outside_the_district,
    priority_points,
)
from jinguo_employment.domain.training_results import Completion
from jinguo_employment.projections.board import CourseRegister, PlacementRegister, PostBoard
from jinguo_employment.projections.pool import SeekerPool
from jinguo_employment.projections.reports import EmploymentReports
from jinguo_employment.projections.training import TrainingOutcomes
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.projections.host import ProjectionHost

Row = dict[str, Any]


_TEXT = (str, bytes)


def _json(value: Any) -> Any:
    """JSON columns read as text and parsed here: SQLAlchemy's per-row processing costs more
    than the query when ranking thousands of candidates (and so would building the type union
    `str | bytes` anew on each of them)."""
    return orjson.loads(value) if isinstance(value, _TEXT) else value


def area_range(prefix: str) -> tuple[str, str]:
    """Codes starting with `prefix` sort between these two: an index range, unlike LIKE."""
    return prefix, prefix + "~"


def within(column: Any, area: str | None) -> Any:
    """`column` holds an area code inside `area` (a prefix; None or "" for everywhere)."""
    if not area:
        return true()
    low, high = area_range(area)
    return and_(column >= low, column < high)


PLACEMENT_PERSONAL = ("override_reason",)
"""Staff's free text about the placed worker, gone with her id when she is erased."""


class EmploymentQueries:
    def __init__(self, engine: AsyncEngine, host: ProjectionHost) -> None:
        self._engine = engine
        self._host = host

    def _projection(self, klass: type[Any]) -> Any:
        projection = self._host.active(klass.name)
        assert isinstance(projection, klass)
        return projection

    async def _all(self, query: Select[Any]) -> list[Any]:
        async with self._engine.connect() as connection:
            return list((await connection.execute(query)).all())

    async def _rows(self, query: Select[Any]) -> list[Row]:
        async with self._engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(query)]

    async def _settle(self, projection: str) -> None:
        """Wait, bounded, until the projection has applied all this service's log holds."""
        await self._host.wait_for_head(SERVICE_STREAMS["employment"].name, [projection], 10.0)

    async def _unlinked(self, rows: list[Row], *personal: str) -> list[Row]:
        """Rows about an erased worker keep their facts (the figures stay right) but no
        longer say whom they were about."""
        ids = {row["worker_id"] for row in rows}
        if not ids:
            return rows
        erased = self._projection(SeekerPool).erased
        gone = {
            worker_id
            for (worker_id,) in await self._all(
                select(erased.c.worker_id).where(erased.c.worker_id.in_(ids))
            )
        }
        for row in rows:
            if row["worker_id"] in gone:
                row.update(dict.fromkeys(("worker_id", *personal)))
        return rows

    async def is_erased(self, worker_id: str) -> bool:
        erased = self._projection(SeekerPool).erased
        return bool(await self._all(select(erased).where(erased.c.worker_id == worker_id)))

    async def posts_seen(self, position: str, timeout: float = 10.0) -> None:
        """Wait until the post board has applied everything up to `position`, so that a list
        of an employer's posts taken after it misses none published before."""
        await self._host.wait_for(position, [PostBoard.name], timeout)

    # seekers -----------------------------------------------------------------------

    async def seeker(self, worker_id: str, today: date) -> Seeker | None:
        pool: SeekerPool = self._projection(SeekerPool)
        query = self._seeker_query(pool, today).where(pool.seekers.c.worker_id == worker_id)
        seekers = await self._seekers(query)
        return seekers[0] if seekers else None

    async def seeker_profile(self, worker_id: str) -> Row | None:
        """The seeker's own row: where she lives, what work she wants."""
        pool: SeekerPool = self._projection(SeekerPool)
        rows = await self._rows(select(pool.seekers).where(pool.seekers.c.worker_id == worker_id))
        return rows[0] if rows else None

    async def seeker_row(self, worker_id: str, area: str | None = None) -> Row | None:
        """The seeker with what she holds, and her placements and flexible work inside `area`
        (a placement belongs to its post's area, flexible work to its order's)."""
        pool: SeekerPool = self._projection(SeekerPool)
        seeker = await self.seeker_profile(worker_id)
        if seeker is None:
            return None
        seeker["categories"] = await self._rows(
            select(pool.categories).where(pool.categories.c.worker_id == worker_id)
        )
        seeker["certificates"] = await self._rows(
            select(pool.certificates).where(pool.certificates.c.worker_id == worker_id)
        )
        register: PlacementRegister = self._projection(PlacementRegister)
        seeker["placements"] = await self._rows(
            select(register.placements)
            .where(
                register.placements.c.worker_id == worker_id,
                within(register.placements.c.area_code, area),
            )
            .order_by(register.placements.c.start_date)
        )
        seeker["flexible_employment"] = await self._rows(
            select(register.flexible)
            .where(
                register.flexible.c.worker_id == worker_id,
                within(register.flexible.c.area_code, area),
            )
            .order_by(register.flexible.c.completed_on)
        )
        return seeker

    async def seekers(
        self,
        *,
        area: str | None,
        category: str | None,
        after_seq: int | None,
        limit: int,
        today: date,
    ) -> list[Row]:
        pool: SeekerPool = self._projection(SeekerPool)
        table = pool.seekers
        query = (
            select(table).where(within(table.c.area_code, area)).order_by(table.c.seq).limit(limit)
        )
        if category:
            query = query.where(
                table.c.worker_id.in_(
                    select(pool.categories.c.worker_id).where(
                        pool.categories.c.category == category,
                        pool.categories.c.valid_until >= today,
                    )
                )
            )
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._rows(query)

    async def candidates(
        self,
        post: PostProfile,
        today: date,
        area: str | None = None,
        *,
        best: int | None = None,
        excluded: frozenset[str] = frozenset(),
    ) -> list[Seeker]:
        """Seekers who want the post's occupation or are certified in it, anywhere in the
        post's city and inside `area` (the reader's, which holds the post), and (for a
        full-time post) not already employed full time, less the `excluded`: the SQL
        prefilter; scoring, which weighs distance by area code, happens in Python. The whole
        city is ranked, so a strong seeker across a district border is not missed. An erased
        worker has no row left to match.

        With `best`, only the seekers who could rank among the best that many are read: the
        post's district whole, then those beyond it whose priority status and certificate
        could lift them to the district's `best`-th score (the rest of her score has a ceiling
        outside the district); the ranking is the same as the whole city's."""
        confined = area or ""
        if not post.area_code.startswith(confined):
            return []
        city = max(area_prefix(post.area_code[:4] + "00"), confined, key=len)
        district = area_prefix(post.area_code[:6])
        if best is None or len(district) <= len(city):
            found = await self.candidates_in(post, today, city)
            return [s for s in found if s.worker_id not in excluded]
        near = [
            s
            for s in await self.candidates_in(post, today, district)
            if s.worker_id not in excluded
        ]
        to_beat = kth_best_score(post, near, today, best)
        reaching = None if to_beat is None else to_beat - most_points_outside_the_district(post)
        far = await self.candidates_in(post, today, city, outside=district, reaching=reaching)
        return near + [s for s in far if s.worker_id not in excluded]

    def _reaching(self, pool: SeekerPool, post: PostProfile, today: date, points: float) -> Any:
        """The seekers whose priority status and certificate in the post's occupation give
        them at least `points`: a set of ids, so that the planner hashes it once rather than
        probing it for each seeker in the city."""
        certificates, categories = pool.certificates, pool.categories

        def certified(needed: float) -> Any:
            levels = [level for level in range(1, 6) if certificate_points(level) >= needed]
            if not levels:
                return None
            return select(certificates.c.worker_id).where(
                certificates.c.occupation_code == post.occupation_code,
                certificates.c.active.is_(True),
                func.coalesce(certificates.c.level, 5) <= max(levels),
            )

        priority = select(categories.c.worker_id).where(categories.c.valid_until >= today)
        ways: list[Any] = []
        if priority_points(post) >= points:
            ways.append(priority)
        elif (with_priority := certified(points - priority_points(post))) is not None:
            ways.append(with_priority.where(certificates.c.worker_id.in_(priority)))
        if (alone := certified(points)) is not None:
            ways.append(alone)
        return union(*ways) if len(ways) > 1 else ways[0] if ways else None

    async def candidates_in(
        self,
        post: PostProfile,
        today: date,
        prefix: str,
        *,
        outside: str | None = None,
        reaching: float | None = None,
    ) -> list[Seeker]:
        """Seekers whose area code starts with `prefix` but not `outside`, and whose priority
        status and certificate give them at least `reaching` points: one query.

        A district or narrower is an index range on the area; a city is compared on a
        substring, which no index serves, so that the occupation index leads rather than the
        area index, which would select nearly every seeker."""
        pool: SeekerPool = self._projection(SeekerPool)
        seekers, occupations, placements = pool.seekers, pool.occupations, pool.placements
        query = (
            self._seeker_query(pool, today)
            .join(occupations, occupations.c.worker_id == seekers.c.worker_id)
            .where(
                occupations.c.occupation_code == post.occupation_code,
                within(seekers.c.area_code, prefix)
                if len(prefix) >= 6
                else func.substr(seekers.c.area_code, 1, len(prefix)) == prefix,
            )
        )
        if outside is not None:
            query = query.where(func.substr(seekers.c.area_code, 1, len(outside)) != outside)
        if reaching is not None and reaching > 0:
            reachers = self._reaching(pool, post, today, reaching)
            if reachers is None:
                return []
            query = query.where(occupations.c.worker_id.in_(reachers))
        if post.hours_type == "full_time":
            query = query.where(
                ~exists().where(
                    placements.c.worker_id == seekers.c.worker_id,
                    placements.c.hours_type == "full_time",
                    placements.c.ended_on.is_(None),
                )
            )
        return await self._seekers(query)

    async def employed_full_time(self, worker_ids: list[str]) -> set[str]:
        if not worker_ids:
            return set()
        placements = self._projection(SeekerPool).placements
        rows = await self._all(
            select(placements.c.worker_id).where(
                placements.c.worker_id.in_(worker_ids),
                placements.c.hours_type == "full_time",
                placements.c.ended_on.is_(None),
            )
        )
        return {worker_id for (worker_id,) in rows}

    @staticmethod
    def _seeker_query(pool: SeekerPool, today: date) -> Select[Any]:
        """A seeker's row with her valid categories, active vocational certificates (as
        `code:level`) and the end of her last placement, gathered by correlated subqueries
        so that ranking a post takes one round trip per side of the district border."""
        seekers, categories = pool.seekers, pool.categories
        certificates, placements = pool.certificates, pool.placements
        mine = seekers.c.worker_id
        held_categories = (
            select(func.aggregate_strings(categories.c.category, ","))
            .where(categories.c.worker_id == mine, categories.c.valid_until >= today)
            .scalar_subquery()
        )
        level = cast(func.coalesce(certificates.c.level, 5), String)
        held_certificates = (
            select(func.aggregate_strings(certificates.c.occupation_code + ":" + level, ","))
            .where(
                certificates.c.worker_id == mine,
                certificates.c.active.is_(True),
                certificates.c.occupation_code.is_not(None),
            )
            .scalar_subquery()
        )
        last_ended = (
            select(func.max(placements.c.ended_on))
            .where(placements.c.worker_id == mine, placements.c.ended_on.is_not(None))
            .scalar_subquery()
        )
        return select(
            seekers.c.worker_id,
            seekers.c.area_code,
            type_coerce(seekers.c.occupation_codes, String),
            type_coerce(seekers.c.hours_types, String),
            type_coerce(seekers.c.skills, String),
            seekers.c.registered_on,
            held_categories,
            held_certificates,
            last_ended,
        )

    async def _seekers(self, query: Select[Any]) -> list[Seeker]:
        seekers = []
        for (
            worker_id,
            area_code,
            codes,
            hours,
            skills,
            registered_on,
            categories,
            certificates,
            ended_on,
        ) in await self._all(query):
            vocational: dict[str, int] = {}
            for held in certificates.split(",") if certificates else ():
                code, level = held.rsplit(":", 1)
                vocational[code] = min(int(level), vocational.get(code, 5))
            since = registered_on if ended_on is None else max(registered_on, ended_on)
            seekers.append(
                Seeker(
                    worker_id=worker_id,
                    area_code=area_code,
                    occupation_codes=tuple(_json(codes)),
                    hours_types=tuple(_json(hours)),
                    unemployed_since=since,
                    skills=frozenset(_json(skills)),
                    priority_categories=tuple(sorted(categories.split(","))) if categories else (),
                    vocational=vocational,
                )
            )
        return seekers

    async def seeker_areas(self, worker_ids: list[str]) -> dict[str, str]:
        pool: SeekerPool = self._projection(SeekerPool)
        rows = await self._all(
            select(pool.seekers.c.worker_id, pool.seekers.c.area_code).where(
                pool.seekers.c.worker_id.in_(worker_ids)
            )
        )
        return dict(rows)

    async def priority_workers(self, worker_ids: list[str], today: date) -> set[str]:
        if not worker_ids:
            return set()
        pool: SeekerPool = self._projection(SeekerPool)
        rows = await self._rows(
            select(pool.categories.c.worker_id).where(
                pool.categories.c.worker_id.in_(worker_ids), pool.categories.c.valid_until >= today
            )
        )
        return {row["worker_id"] for row in rows}

    # employers and posts -----------------------------------------------------------------------

    async def employers(
        self, *, area: str | None, status: str | None, after_seq: int | None, limit: int
    ) -> list[Row]:
        table = self._projection(PostBoard).employers
        query = select(table).where(within(table.c.area_code, area)).order_by(table.c.seq)
        query = query.limit(limit)
        if status:
            query = query.where(table.c.status == status)
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._rows(query)

    async def employer(self, employer_id: str) -> Row | None:
        table = self._projection(PostBoard).employers
        rows = await self._rows(select(table).where(table.c.employer_id == employer_id))
        return rows[0] if rows else None

    async def posts(
        self,
        *,
        area: str | None = None,
        occupation: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        employer_id: str | None = None,
        after_seq: int | None = None,
        limit: int = 50,
    ) -> list[Row]:
        table = self._projection(PostBoard).posts
        query = select(table).where(within(table.c.area_code, area)).order_by(table.c.seq)
        query = query.limit(limit)
        for column, value in (
            (table.c.occupation_code, occupation),
            (table.c.kind, kind),
            (table.c.status, status),
            (table.c.employer_id, employer_id),
        ):
            if value:
                query = query.where(column == value)
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._rows(query)

    async def post(
        self, post_id: str, *, settle: bool = False, area: str | None = None
    ) -> Row | None:
        """The post with its candidates who live inside `area` (the others are none of the
        reader's business). With `settle`, as `placement`: for a command about a post
        published a moment ago."""
        board: PostBoard = self._projection(PostBoard)
        pool: SeekerPool = self._projection(SeekerPool)
        query = select(board.posts).where(board.posts.c.post_id == post_id)
        rows = await self._rows(query)
        if not rows and settle:
            await self._settle(PostBoard.name)
            rows = await self._rows(query)
        if not rows:
            return None
        post = rows[0]
        candidates, seekers = board.candidates, pool.seekers
        post["candidates"] = await self._rows(
            select(candidates)
            .join(seekers, seekers.c.worker_id == candidates.c.worker_id)
            .where(candidates.c.post_id == post_id, within(seekers.c.area_code, area))
            .order_by(candidates.c.seq)
        )
        return post

    async def employer_post_ids(self, employer_id: str, status: str) -> list[str]:
        table = self._projection(PostBoard).posts
        rows = await self._rows(
            select(table.c.post_id).where(
                table.c.employer_id == employer_id, table.c.status == status
            )
        )
        return [row["post_id"] for row in rows]

    # placements -----------------------------------------------------------------------

    async def placement(self, placement_id: str, *, settle: bool = False) -> Row | None:
        """With `settle`, a placement not found is looked for again once the register has
        applied everything already in the log (it may have been filled a moment ago)."""
        table = self._projection(PlacementRegister).placements
        query = select(table).where(table.c.placement_id == placement_id)
        rows = await self._rows(query)
        if not rows and settle:
            await self._settle(PlacementRegister.name)
            rows = await self._rows(query)
        return (await self._unlinked(rows, *PLACEMENT_PERSONAL))[0] if rows else None

    async def placements(
        self, *, area: str | None, status: str | None, after_seq: int | None, limit: int
    ) -> list[Row]:
        table = self._projection(PlacementRegister).placements
        query = select(table).where(within(table.c.area_code, area)).order_by(table.c.seq)
        query = query.limit(limit)
        if status:
            query = query.where(table.c.status == status)
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._unlinked(await self._rows(query), *PLACEMENT_PERSONAL)

    async def follow_ups_due(self, *, on: date, area: str | None, limit: int) -> list[Row]:
        """Placements with a 3-, 6- or 12-month follow-up due by `on` and not yet recorded;
        nobody follows up an erased worker."""
        table = self._projection(PlacementRegister).placements
        erased = self._projection(SeekerPool).erased
        due = or_(
            *(
                and_(table.c[f"due_{m}"] <= on, table.c[f"followed_{m}"].is_(None))
                for m in (3, 6, 12)
            )
        )
        query = (
            select(table)
            .where(
                due,
                within(table.c.area_code, area),
                table.c.worker_id.not_in(select(erased.c.worker_id)),
            )
            .order_by(table.c.due_3, table.c.placement_id)
            .limit(limit)
        )
        rows = await self._rows(query)
        for row in rows:
            row["due"] = [
                {"month": m, "due_on": row[f"due_{m}"]}
                for m in (3, 6, 12)
                if row[f"due_{m}"] <= on and row[f"followed_{m}"] is None
            ]
        return rows

    # courses -----------------------------------------------------------------------

    async def courses(
        self, *, area: str | None, kind: str | None, after_seq: int | None, limit: int
    ) -> list[Row]:
        table = self._projection(CourseRegister).courses
        query = select(table).where(within(table.c.area_code, area)).order_by(table.c.seq)
        query = query.limit(limit)
        if kind:
            query = query.where(table.c.kind == kind)
        if after_seq is not None:
            query = query.where(table.c.seq > after_seq)
        return await self._rows(query)

    async def course(self, course_id: str, area: str | None = None) -> Row | None:
        """The course with its trainees who live inside `area`."""
        register: CourseRegister = self._projection(CourseRegister)
        rows = await self._rows(
            select(register.courses).where(register.courses.c.course_id == course_id)
        )
        if not rows:
            return None
        course = rows[0]
        trainees = await self._rows(
            select(register.trainees)
            .where(
                register.trainees.c.course_id == course_id,
                within(register.trainees.c.area_code, area),
            )
            .order_by(register.trainees.c.worker_id)
        )
        course["trainees"] = await self._unlinked(trainees, "area_code", "certificate_no")
        return course

    # reports -----------------------------------------------------------------------

    async def report(self, area: str, month_from: str, month_to: str) -> list[Row]:
        counts = self._projection(EmploymentReports).counts
        return await self._rows(
            select(counts.c.month, counts.c.metric, counts.c.count)
            .where(
                counts.c.area_code == area, counts.c.month >= month_from, counts.c.month <= month_to
            )
            .order_by(counts.c.month, counts.c.metric)
        )

    async def training_outcomes(
        self,
        *,
        area: str | None = None,
        completed_from: date | None = None,
        completed_to: date | None = None,
        course_id: str | None = None,
    ) -> tuple[list[Completion], dict[str, list[date]]]:
        """Completions of trainees living inside `area` (a prefix), completed in the period or
        of one course, and the days each of those women started work; an erased woman is left
        out even where a replay wrote her completion after her erasure."""
        outcomes: TrainingOutcomes = self._projection(TrainingOutcomes)
        completions, courses, starts = outcomes.completions, outcomes.courses, outcomes.starts
        erased = self._projection(SeekerPool).erased
        query = (
            select(
                completions.c.course_id,
                completions.c.worker_id,
                func.coalesce(completions.c.kind, courses.c.kind),
                completions.c.passed,
                func.coalesce(courses.c.ends_on, completions.c.completed_on),
            )
            .outerjoin(courses, courses.c.course_id == completions.c.course_id)
            .where(
                within(completions.c.area_code, area),
                completions.c.worker_id.not_in(select(erased.c.worker_id)),
            )
        )
        if completed_from is not None:
            query = query.where(completions.c.completed_on >= completed_from)
        if completed_to is not None:
            query = query.where(completions.c.completed_on <= completed_to)
        if course_id is not None:
            query = query.where(completions.c.course_id == course_id)
        found = [
            Completion(course_id, worker_id, kind or "vocational", passed, ended_on)
            for course_id, worker_id, kind, passed, ended_on in await self._all(query)
        ]
        days: dict[str, list[date]] = {}
        if found:
            women = query.with_only_columns(completions.c.worker_id)
            for worker_id, started_on in await self._all(
                select(starts.c.worker_id, starts.c.started_on).where(starts.c.worker_id.in_(women))
            ):
                days.setdefault(worker_id, []).append(started_on)
        return found, days
