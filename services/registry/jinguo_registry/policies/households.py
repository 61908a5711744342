"""What the registry does when a woman starts a re-employment spell: her household, if it is a
zero-employment household (零就业家庭), is cleared (清零) from the spell's first day. A
re-employment recorded before spells existed (`WorkerReemployed`) counts as a placement spell."""

from __future__ import annotations

from jinguo_contracts.registry import ReemploymentSpellStartedV1, WorkerReemployedV1
from jinguo_registry.handlers.households import HouseholdHandlers
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.reactions import Policy, reacts_to


class HouseholdClearingPolicy(Policy):
    name = "household_clearing"
    subjects = (
        "registry.worker.*.ReemploymentSpellStarted",
        "registry.worker.*.WorkerReemployed",
    )

    def __init__(self, handlers: HouseholdHandlers) -> None:
        self.handlers = handlers

    @reacts_to(ReemploymentSpellStartedV1)
    async def when_a_spell_starts_clear_her_household(
        self, e: ReemploymentSpellStartedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        await self.handlers.clear_for_spell(e.worker_id, e.spell_id, e.started_on, ctx)

    @reacts_to(WorkerReemployedV1)
    async def when_she_is_reemployed_clear_her_household(
        self, e: WorkerReemployedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        """Recorded before spells: a placement spell, its placement id the spell's."""
        await self.handlers.clear_for_spell(e.worker_id, e.placement_id, e.started_on, ctx)
