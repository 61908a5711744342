"""What the services-orders reads return, field by field, as its projections hold them. Prices
are whole yuan (元) per visit. A resident's address and notes are unsealed for the caller; a
resident or worker the registry erased is named nowhere (her id null) and her words are gone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from jinguo_contracts.orders import AssignedHow, ServiceCategory, SettlementLine
from jinguo_contracts.registry import EligibilityReason, PriceTier
from jinguo_shared.http.conventions import ReadModel, Report

OrderStatus = Literal[
    "placed", "assigned", "accepted", "in_service", "completed", "cancelled", "no_show"
]


class Service(ReadModel):
    service_code: str
    category: ServiceCategory
    name: str = Field(description="name shown to residents, e.g. 家政服务")
    market_price: int = Field(description="yuan (元) per visit, the 收费 tier")
    low_cost_price: int = Field(description="yuan (元) per visit, the 低偿 tier")
    required_certificates: list[str] = Field(
        description="GB/T 6565 occupation codes a worker must be certified in"
    )


class Resident(ReadModel):
    resident_id: str
    area_code: str
    price_tier: PriceTier = Field(description="the registry's last word on what she pays")
    reason: EligibilityReason
    valid_until: date | None = Field(description="when the price tier lapses, if it does")


class Volunteer(ReadModel):
    volunteer_id: str
    area_code: str


class Order(ReadModel):
    order_id: str
    resident_id: str | None = Field(description="null once the registry erased her")
    service_code: str
    area_code: str = Field(description="12-digit community code of the resident")
    address: str | None = Field(description="null once she is erased")
    notes: str | None
    window_start: datetime
    window_end: datetime
    price_tier: PriceTier = Field(description="fixed when the order was placed")
    price: int = Field(description="what the resident pays, yuan (元)")
    market_price: int = Field(description="the full price, yuan (元); the government pays the rest")
    status: OrderStatus
    worker_id: str | None = Field(description="the assigned worker; null once she is erased")
    provider_id: str | None
    assigned_how: AssignedHow | None
    rating: int | None = Field(description="the resident's rating, 1 to 5")
    seq: int


class OrderMove(ReadModel):
    order_id: str
    seq: int = Field(description="the event's sequence in ORDERS")
    event_type: Literal[
        "OrderPlaced",
        "OrderAssigned",
        "OrderAccepted",
        "OrderRejected",
        "ServiceStarted",
        "ServiceCompleted",
        "OrderCancelled",
        "OrderNoShow",
        "OrderRated",
        "FollowUpCallRecorded",
    ]
    actor: str | None = Field(description="the API client (and officer) that made the move")
    at: datetime
    detail: dict[str, Any] = Field(
        description="the event's fields as its published contract (event_type, version 1)"
        " defines them, without order_id; personal fields and the ids of people the registry"
        " erased are null"
    )


class Performer(ReadModel):
    kind: Literal["worker", "provider"]
    performer_id: str
    completed: int = Field(description="orders completed")
    rating_sum: int
    ratings: int
    area_code: str = Field(description="where the worker lives or the provider is based")
    satisfaction: float | None = Field(description="average rating, 1 to 5; null: none yet")


class Statement(ReadModel):
    area_code: str
    month: str = Field(description="YYYY-MM")
    lines: list[SettlementLine] = Field(description="the free and low-cost services delivered")
    total_owed: int = Field(description="yuan (元) the government owes")
    issued: bool = Field(description="issued (final), or as the month stands today")


class TimeBankEntry(ReadModel):
    volunteer_id: str
    seq: int
    entry_id: str
    kind: Literal["earned", "spent"]
    hours: str = Field(description="decimal hours, as text (e.g. '1.5')")
    what: str = Field(description="the activity served, or what the hours were spent on")
    on: date


class TimeBankOut(ReadModel):
    volunteer_id: str
    balance: float = Field(description="hours banked and not spent")
    entries: list[TimeBankEntry] = Field(description="oldest first")


class AreaReport(Report):
    average_satisfaction: dict[str, float] = Field(
        description="for each month with ratings, rating_sum / ratings (1 to 5)"
    )
    average_satisfaction_overall: float | None = Field(
        description="over the months: rating_sum / ratings; null without ratings"
    )


def with_satisfaction(report: Report) -> AreaReport:
    """The report with the average satisfaction its sums and counts give."""

    def average(figures: dict[str, int]) -> float | None:
        ratings = figures.get("ratings", 0)
        return round(figures.get("rating_sum", 0) / ratings, 2) if ratings else None

    months = {month: average(figures) for month, figures in report.figures.items()}
    return AreaReport(
        **report.model_dump(),
        average_satisfaction={m: a for m, a in months.items() if a is not None},
        average_satisfaction_overall=average(report.totals),
    )
