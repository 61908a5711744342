"""What the employment service does when other services' events arrive."""

from __future__ import annotations

from jinguo_contracts.inspections import EmployerViolationFoundV1, ViolationRectifiedV1
from jinguo_contracts.orders import ServiceCompletedV1
from jinguo_employment.handlers.commands import EmploymentHandlers
from jinguo_shared.clock import business_day
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.reactions import Policy, reacts_to

VIOLATION_NAMES = {
    "labour_contract": "劳动合同",
    "equal_pay": "同工同酬",
    "protected_periods": "女职工四期保护",
    "working_hours": "工作时间",
    "social_insurance": "社会保险",
}


class InspectionPolicy(Policy):
    """A labour inspection's violation suspends the employer; its rectification reinstates."""

    name = "inspections"
    subjects = (
        "inspections.inspection.*.EmployerViolationFound",
        "inspections.inspection.*.ViolationRectified",
    )

    def __init__(self, handlers: EmploymentHandlers) -> None:
        self.handlers = handlers

    @reacts_to(EmployerViolationFoundV1)
    async def when_violation_found_suspend_employer(
        self, e: EmployerViolationFoundV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        found = ", ".join(VIOLATION_NAMES[v] for v in e.violations)
        await self.handlers.suspend_employer(
            e.employer_id,
            f"劳动保障监察 violation: {found}",
            ctx,
            inspection_id=e.inspection_id,
            on=e.found_on,
        )

    @reacts_to(ViolationRectifiedV1)
    async def when_violation_rectified_reinstate_employer(
        self, e: ViolationRectifiedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        await self.handlers.reinstate_employer(
            e.employer_id,
            f"rectified on {e.rectified_on.isoformat()}",
            ctx,
            inspection_id=e.inspection_id,
            on=e.rectified_on,
        )


class OrdersPolicy(Policy):
    """A community service a worker delivered is flexible employment (灵活就业) for her."""

    name = "orders"
    subjects = ("orders.order.*.ServiceCompleted",)

    def __init__(self, handlers: EmploymentHandlers) -> None:
        self.handlers = handlers

    @reacts_to(ServiceCompletedV1)
    async def when_service_completed_record_flexible_employment(
        self, e: ServiceCompletedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        if e.worker_id is None:
            return  # delivered by a provider's team: nobody's own record
        await self.handlers.record_flexible_employment(
            e.worker_id,
            order_id=e.order_id,
            service_code=e.service_code,
            area_code=e.area_code,
            completed_on=business_day(None, e.completed_at),
            hours=e.hours,
            ctx=ctx,
        )
