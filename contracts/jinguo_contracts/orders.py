"""Events of the services-orders service on `orders.>` (stream ORDERS).

Aggregates: `service` (the catalogue, one per service code), `order` (服务订单), `worker` (a
worker's dispatch schedule: qualifications and bookings, so that nobody is booked twice),
`settlement` (one per community and month) and `timebank` (one per volunteer). Employment reacts
to `ServiceCompleted` (a flexible-employment record, 灵活就业, for the worker who delivered it).
Prices are whole yuan (元) per visit.

Every fact carries the business date it happened, which may be long before it was recorded:
`occurred_on` on the order's moves (absent only in events recorded before it was kept; read it
with `jinguo_shared.clock.business_day`), or a date or time of its own (`started_at`,
`completed_at` in the programme's time zone, `called_on`, `served_on`, `spent_on`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jinguo_contracts.base import CATALOGUE, EventContract, OptionalPii, Pii
from jinguo_contracts.registry import PriceTier

ServiceCategory = Literal[
    "housekeeping",
    "cleaning",
    "elderly_care",
    "child_pickup",
    "infant_care",
    "meal_delivery",
    "repairs",
    "patient_escort",
    "maternity_nurse",
]
AssignedHow = Literal["auto", "dispatcher"]
CancelledBy = Literal["resident", "staff"]
NoShowParty = Literal["worker", "resident"]


class ServiceOfferedV1(EventContract):
    """A service in the catalogue (or a new price list for it): 家政, 保洁, 居家养老照料 …"""

    service: ClassVar[str] = "orders"
    aggregate: ClassVar[str] = "service"
    event_type: ClassVar[str] = "ServiceOffered"
    service_code: str = Field(description="e.g. housekeeping")
    category: ServiceCategory
    name: str = Field(description="name shown to residents, e.g. 家政服务")
    market_price: int = Field(ge=0, description="yuan (元) per visit, the 收费 tier")
    low_cost_price: int = Field(ge=0, description="yuan (元) per visit, the 低偿 tier")
    required_certificates: list[str] = Field(
        default_factory=list, description="GB/T 6565 occupation codes a worker must be certified in"
    )


class _Order(EventContract):
    service: ClassVar[str] = "orders"
    aggregate: ClassVar[str] = "order"
    order_id: str


OCCURRED_ON = (
    "the business date it happened, in the programme's time zone (absent in events recorded"
    " before it was kept: then the day the log recorded it)"
)

AREA_OF_ORDER = (
    "12-digit community code of the order, so that area reports can count it (absent in"
    " events recorded before it was kept)"
)


class _Dated(_Order):
    """A move that happened on a business date of its own, which may be earlier than the day
    it was recorded (an office entering last year's orders)."""

    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class _ResidentsWords(_Order):
    """A move whose free text speaks of the resident: it is sealed with her key, so her
    erasure makes it unreadable everywhere."""

    pii_subject_field: ClassVar[str | None] = "resident_id"
    resident_id: str | None = Field(
        default=None,
        description="whose key seals the text (absent in events recorded before it was sealed)",
    )


class ServiceCompletedV1(_Order):
    """A worker (or a provider's team) finished delivering an ordered community service."""

    event_type: ClassVar[str] = "ServiceCompleted"
    business_date_field: ClassVar[str] = "completed_at"
    worker_id: str | None = Field(default=None, description="the registry's worker id, if a worker")
    provider_id: str | None = Field(default=None, description="the registry's provider id")
    service_code: str = Field(description="code in the service catalogue, e.g. housekeeping")
    area_code: str = Field(description="12-digit community code where it was delivered")
    started_at: datetime
    completed_at: datetime
    price_tier: PriceTier

    @model_validator(mode="after")
    def _someone_delivered(self) -> ServiceCompletedV1:
        if self.worker_id is None and self.provider_id is None:
            raise ValueError("a completed service names its worker_id or its provider_id")
        if self.completed_at < self.started_at:
            raise ValueError("completed_at is before started_at")
        return self

    @property
    def hours(self) -> float:
        return round((self.completed_at - self.started_at).total_seconds() / 3600, 2)


class OrderPlacedV1(_Dated):
    """A resident orders a service; the price tier is fixed now, from the registry's last word.
    `occurred_on` is the day she requested it."""

    event_type: ClassVar[str] = "OrderPlaced"
    pii_subject_field: ClassVar[str | None] = "resident_id"
    resident_id: str
    service_code: str
    area_code: str = Field(description="12-digit community code of the resident")
    address: Pii
    window_start: datetime
    window_end: datetime
    notes: OptionalPii
    price_tier: PriceTier
    price: int = Field(ge=0, description="what the resident pays, yuan (元)")
    market_price: int = Field(ge=0, description="the full price; the government pays the rest")
    required_certificates: list[str] = Field(default_factory=list)


class OrderAssignedV1(_Dated):
    event_type: ClassVar[str] = "OrderAssigned"
    worker_id: str | None = None
    provider_id: str | None = None
    how: AssignedHow


class OrderAcceptedV1(_Dated):
    event_type: ClassVar[str] = "OrderAccepted"
    worker_id: str | None = None
    provider_id: str | None = None


class OrderRejectedV1(_Dated):
    """The assignee declined: the order goes back to dispatch."""

    event_type: ClassVar[str] = "OrderRejected"
    worker_id: str | None = None
    provider_id: str | None = None
    reason: str


class ServiceStartedV1(_Order):
    event_type: ClassVar[str] = "ServiceStarted"
    business_date_field: ClassVar[str] = "started_at"
    started_at: datetime


class OrderCancelledV1(_ResidentsWords):
    event_type: ClassVar[str] = "OrderCancelled"
    by: CancelledBy
    reason: Pii
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class OrderNoShowV1(_ResidentsWords):
    event_type: ClassVar[str] = "OrderNoShow"
    party: NoShowParty
    notes: OptionalPii
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)


class OrderRatedV1(_ResidentsWords):
    """满意程度: the resident's rating of a completed order."""

    event_type: ClassVar[str] = "OrderRated"
    score: int = Field(ge=1, le=5)
    comment: OptionalPii
    worker_id: str | None = None
    provider_id: str | None = None
    occurred_on: date | None = Field(default=None, description=OCCURRED_ON)
    area_code: str | None = Field(default=None, description=AREA_OF_ORDER)


class FollowUpCallRecordedV1(_ResidentsWords):
    """回访: staff called the resident after the service."""

    event_type: ClassVar[str] = "FollowUpCallRecorded"
    business_date_field: ClassVar[str] = "called_on"
    called_on: date
    satisfied: bool
    notes: OptionalPii
    area_code: str | None = Field(default=None, description=AREA_OF_ORDER)


class _Schedule(EventContract):
    service: ClassVar[str] = "orders"
    aggregate: ClassVar[str] = "worker"
    worker_id: str


class WorkerQualifiedV1(_Schedule):
    """The worker holds a certificate in this occupation (from employment's CertificateAwarded)."""

    event_type: ClassVar[str] = "WorkerQualified"
    occupation_code: str
    certificate_no: str


class WorkerTrainedV1(_Schedule):
    """The worker passed a course in this trade (from employment's TrainingCompleted)."""

    event_type: ClassVar[str] = "WorkerTrained"
    trade: str
    completed_on: date


class WorkerLeftDispatchV1(_Schedule):
    """The worker took a full-time post: no more service orders for her."""

    event_type: ClassVar[str] = "WorkerLeftDispatch"
    reason: str
    placement_id: str | None = None


class WorkerRejoinedDispatchV1(_Schedule):
    """The full-time post that took her out of dispatch has ended: service orders again."""

    event_type: ClassVar[str] = "WorkerRejoinedDispatch"
    reason: str
    placement_id: str | None = Field(
        default=None, description="the placement whose end brings her back"
    )


class WorkerBookedV1(_Schedule):
    event_type: ClassVar[str] = "WorkerBooked"
    order_id: str
    window_start: datetime
    window_end: datetime
    area_code: str | None = Field(
        default=None,
        description="12-digit community code the worker lives in, as the registry said when she"
        " was booked (absent in bookings recorded before it was kept)",
    )
    kept_from: datetime | None = Field(
        default=None,
        description="from this moment on her schedule remembers bookings: those that ended"
        " earlier are over and forgotten, and no window starting earlier is booked any more"
        " (absent in bookings recorded before it was kept)",
    )


class WorkerReleasedV1(_Schedule):
    event_type: ClassVar[str] = "WorkerReleased"
    order_id: str


class SettlementLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str
    service_code: str
    price_tier: PriceTier
    completed_on: date
    market_price: int
    resident_paid: int
    government_owes: int


class SettlementIssuedV1(EventContract):
    """政府购买服务结算: what the government owes one community for one month."""

    service: ClassVar[str] = "orders"
    aggregate: ClassVar[str] = "settlement"
    event_type: ClassVar[str] = "SettlementIssued"
    settlement_id: str
    area_code: str
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    lines: list[SettlementLine]
    total_owed: int


class _TimeBank(EventContract):
    service: ClassVar[str] = "orders"
    aggregate: ClassVar[str] = "timebank"
    volunteer_id: str


class VolunteerHoursEarnedV1(_TimeBank):
    """志愿服务时间储蓄: hours banked by serving."""

    event_type: ClassVar[str] = "VolunteerHoursEarned"
    business_date_field: ClassVar[str] = "served_on"
    entry_id: str
    hours: float = Field(gt=0)
    activity: str
    served_on: date
    area_code: str


class VolunteerHoursSpentV1(_TimeBank):
    event_type: ClassVar[str] = "VolunteerHoursSpent"
    business_date_field: ClassVar[str] = "spent_on"
    entry_id: str
    hours: float = Field(gt=0)
    purpose: str
    spent_on: date
    area_code: str
    balance_after: float = Field(ge=0)


CATALOGUE.register(
    ServiceOfferedV1,
    OrderPlacedV1,
    OrderAssignedV1,
    OrderAcceptedV1,
    OrderRejectedV1,
    ServiceStartedV1,
    ServiceCompletedV1,
    OrderCancelledV1,
    OrderNoShowV1,
    OrderRatedV1,
    FollowUpCallRecordedV1,
    WorkerQualifiedV1,
    WorkerTrainedV1,
    WorkerLeftDispatchV1,
    WorkerRejoinedDispatchV1,
    WorkerBookedV1,
    WorkerReleasedV1,
    SettlementIssuedV1,
    VolunteerHoursEarnedV1,
    VolunteerHoursSpentV1,
)
