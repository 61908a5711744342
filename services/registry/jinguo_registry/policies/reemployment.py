"""What the registry does when the employment service fills a post: the worker's dossier
records her re-employment (再就业)."""

from __future__ import annotations

from jinguo_contracts.employment import PostFilledV1
from jinguo_registry.handlers.commands import RecordReemployment, RegistryHandlers
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.reactions import Policy, reacts_to


class ReemploymentPolicy(Policy):
    name = "reemployment"
    subjects = ("employment.post.*.PostFilled",)

    def __init__(self, handlers: RegistryHandlers) -> None:
        self.handlers = handlers

    @reacts_to(PostFilledV1)
    async def when_post_filled_record_reemployment(
        self, e: PostFilledV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        await self.handlers.record_reemployment(
            e.worker_id,
            RecordReemployment(
                post_id=e.post_id,
                placement_id=e.placement_id,
                employer_name=e.employer_name,
                started_on=e.start_date,
            ),
            ctx,
        )
