"""What services-orders does when employment's events arrive."""

from __future__ import annotations

from jinguo_contracts.employment import (
    CertificateAwardedV1,
    PlacementEndedV1,
    PostFilledV1,
    TrainingCompletedV1,
)
from jinguo_orders.handlers.commands import OrdersHandlers
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.reactions import Policy, reacts_to


class EmploymentPolicy(Policy):
    """Certificates qualify a worker for services needing them; a full-time post takes her out
    of dispatch (she has a job now), and its end brings her back."""

    name = "employment"
    subjects = (
        "employment.course.*.CertificateAwarded",
        "employment.course.*.TrainingCompleted",
        "employment.post.*.PostFilled",
        "employment.worker.*.PlacementEnded",
    )

    def __init__(self, handlers: OrdersHandlers) -> None:
        self.handlers = handlers

    @reacts_to(CertificateAwardedV1)
    async def when_certificate_awarded_qualify_worker(
        self, e: CertificateAwardedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        await self.handlers.qualify_worker(e.worker_id, e.occupation_code, e.certificate_no, ctx)

    @reacts_to(TrainingCompletedV1)
    async def when_training_passed_record_trade(
        self, e: TrainingCompletedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        if e.passed:
            await self.handlers.record_training(e.worker_id, e.trade, e.completed_on, ctx)

    @reacts_to(PostFilledV1)
    async def when_full_time_post_filled_leave_dispatch(
        self, e: PostFilledV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        if e.hours_type == "full_time":
            await self.handlers.take_out_of_dispatch(
                e.worker_id, f"全日制岗位 at {e.employer_name}", e.placement_id, ctx
            )

    @reacts_to(PlacementEndedV1)
    async def when_full_time_placement_ended_rejoin_dispatch(
        self, e: PlacementEndedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        if e.hours_type == "full_time":
            await self.handlers.bring_back_to_dispatch(
                e.worker_id, f"全日制岗位结束 ({e.reason})", e.placement_id, ctx
            )
