"""The rights figures for other services: a case event that changes what is counted publishes
the figures of every area above the case, and of its agency, again on INSPECTIONS."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial

from jinguo_contracts.areas import area_ancestors
from jinguo_contracts.rights import (
    CaseActionRecordedV1,
    CaseClosedV1,
    CaseOpenedV1,
    CaseReopenedV1,
)
from jinguo_rights.domain.figures import (
    CaseFacts,
    Figures,
    RightsFigures,
    agency_figures_id,
    area_figures_id,
    figures,
)
from jinguo_rights.handlers.commands import derived_id
from jinguo_rights.projections.figure_facts import FigureFacts
from jinguo_shared.commands import CommandExecutor
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.projections.host import ProjectionHost
from jinguo_shared.reactions import Policy, reacts_to

log = logging.getLogger(__name__)

CaseEvent = CaseOpenedV1 | CaseActionRecordedV1 | CaseClosedV1 | CaseReopenedV1

CATCH_UP_SECONDS = 30.0


class RightsFiguresPolicy(Policy):
    """Figures follow the case files: once they have applied the event, the figures of each
    year the case may count in (from its opening to the event's business date) are counted
    again for the case's area and each area above it, and for its agency, and published where
    they changed. Each command's id is derived from the event's and the figures', so an event
    delivered again publishes nothing new; a replay rebuilds the case files and issues nothing.
    """

    name = "rights_figures"
    subjects = tuple(
        f"rights.case.*.{e.event_type}"
        for e in (CaseOpenedV1, CaseActionRecordedV1, CaseClosedV1, CaseReopenedV1)
    )

    def __init__(
        self, figures: CommandExecutor, facts: FigureFacts, projections: ProjectionHost
    ) -> None:
        self.figures = figures
        self.facts = facts
        self.projections = projections
        self._counted: dict[str, tuple[int, int]] = {}
        """Figures id -> (generation, RIGHTS checkpoint) of the case files they were last
        published from: unchanged case files, nothing to count again (a policy catching up
        on a back-fill, whose case files are already at its end)."""

    @reacts_to(CaseOpenedV1, CaseActionRecordedV1, CaseClosedV1, CaseReopenedV1)
    async def when_a_case_counts_publish_its_figures(
        self, e: CaseEvent, event: RecordedEvent, ctx: CommandContext
    ) -> None:
        day = counted_on(e)
        if day is None:
            return
        await self.projections.wait_for(
            f"{event.stream}:{event.seq}", ["case_files"], CATCH_UP_SECONDS
        )
        case = await self.facts.case(e.case_id)
        if case is None:
            return
        try:
            areas = area_ancestors(case.area_code)
        except ValueError:
            log.warning("case in area %s (not a valid code): no area figures", case.area_code)
            areas = []
        files = self.projections.active("case_files")
        # read before the counts: a case file changed after it moves it past this mark
        mark = (files.generation, await self.projections.checkpoint(files, "RIGHTS"))
        for year in range(case.opened_on.year, day.year + 1):
            for area in areas:
                await self._count_and_publish(
                    area_figures_id(area, year),
                    partial(self.facts.of_area, area, year),
                    partial(RightsFigures.publish_area, area_code=area, year=year),
                    year,
                    mark,
                    ctx,
                )
            await self._count_and_publish(
                agency_figures_id(case.agency_id, year),
                partial(self.facts.of_agency, case.agency_id, year),
                partial(RightsFigures.publish_agency, agency_id=case.agency_id, year=year),
                year,
                mark,
                ctx,
            )

    async def _count_and_publish(
        self,
        figures_id: str,
        facts: Callable[[], Awaitable[list[CaseFacts]]],
        publish: Callable[..., None],
        year: int,
        mark: tuple[int, int],
        ctx: CommandContext,
    ) -> None:
        if self._counted.get(figures_id) == mark:
            return
        now = await asyncio.to_thread(figures, await facts(), year)
        await self._publish(figures_id, publish, now, ctx)
        self._counted[figures_id] = mark

    async def _publish(
        self,
        figures_id: str,
        publish: Callable[..., None],
        now: Figures,
        ctx: CommandContext,
    ) -> None:
        command_id = derived_id("figures", ctx.command_id, figures_id)
        await self.figures.execute(
            RightsFigures,
            figures_id,
            lambda aggregate: publish(aggregate, now=now),
            dataclasses.replace(ctx, command_id=command_id),
        )


def counted_on(e: CaseEvent) -> date | None:
    """The business date of what the event changes in the figures; None: nothing counted."""
    if isinstance(e, CaseOpenedV1):
        return e.opened_on
    if isinstance(e, CaseActionRecordedV1):
        return e.taken_on if e.action == "legal_aid" else None
    if isinstance(e, CaseClosedV1):
        return e.closed_on
    return e.reopened_on
