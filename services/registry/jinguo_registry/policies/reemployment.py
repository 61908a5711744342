"""What the registry does when the employment service fills a post or a placement ends: her
re-employment spell starts (再就业), and ends, which may make her unemployed again (失业再登记)."""

from __future__ import annotations

from jinguo_contracts.employment import PlacementEndedV1, PostFilledV1
from jinguo_registry.handlers.commands import RecordReemployment
from jinguo_registry.handlers.spells import EndSpell, SpellHandlers
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.reactions import Policy, reacts_to


class ReemploymentPolicy(Policy):
    """Named anew when it began to follow PlacementEnded: a durable consumer keeps the filter
    it was created with, and a new one reads the stream from the start, so the placements that
    ended before are ended in the registry too (the placements it reads again change nothing)."""

    name = "reemployment_spells"
    subjects = ("employment.post.*.PostFilled", "employment.worker.*.PlacementEnded")

    def __init__(self, handlers: SpellHandlers) -> None:
        self.handlers = handlers

    @reacts_to(PostFilledV1)
    async def when_post_filled_start_a_placement_spell(
        self, e: PostFilledV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        await self.handlers.record_placement(
            e.worker_id,
            RecordReemployment(
                post_id=e.post_id,
                placement_id=e.placement_id,
                employer_name=e.employer_name,
                started_on=e.start_date,
            ),
            ctx,
            hours_type=e.hours_type,
            reported_by_employment=True,
        )

    @reacts_to(PlacementEndedV1)
    async def when_placement_ended_end_her_spell(
        self, e: PlacementEndedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        """The placement's spell is named by the placement; an ended spell ends once."""
        reason = e.reason if not e.notes else f"{e.reason}: {e.notes}"
        await self.handlers.end_spell(
            e.worker_id, e.placement_id, EndSpell(ended_on=e.ended_on, reason=reason[:500]), ctx
        )
