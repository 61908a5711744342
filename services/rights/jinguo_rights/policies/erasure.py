"""What the rights service does when the registry erases a worker who complained."""

from __future__ import annotations

import dataclasses

from jinguo_contracts.registry import WorkerErasedV1
from jinguo_rights.handlers.commands import RightsHandlers, derived_id
from jinguo_rights.projections.queries import RightsQueries
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.projections.host import ProjectionHost
from jinguo_shared.reactions import Policy, reacts_to

CATCH_UP_SECONDS = 30.0


class ComplainantErasurePolicy(Policy):
    """An erased worker's cases stop naming her; they and their figures stay.

    Her key in this service goes with the `complainant_erasure` projection. Here she is first
    marked erased, which no later case can get past; once the case files have caught up with
    that mark, every case opened before it is among them, and each is unlinked by an event of
    its own, so a replay of the case stream unlinks them again.
    """

    name = "complainant_erasure"
    subjects = ("registry.worker.*.WorkerErased",)

    def __init__(
        self, handlers: RightsHandlers, queries: RightsQueries, projections: ProjectionHost
    ) -> None:
        self.handlers = handlers
        self.queries = queries
        self.projections = projections

    @reacts_to(WorkerErasedV1)
    async def when_worker_erased_unlink_her_cases(
        self, e: WorkerErasedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        erased = await self.handlers.erase_complainant(e.worker_id, ctx)
        await self.projections.wait_for(erased.position, ["case_files"], CATCH_UP_SECONDS)
        for case_id in await self.queries.cases_of_complainant(e.worker_id):
            command_id = derived_id("unlink", ctx.command_id, case_id)
            await self.handlers.unlink_complainant(
                case_id, dataclasses.replace(ctx, command_id=command_id)
            )
