"""Counts per area and month by business date, rolled up from community to street, district,
city and province: what an office reports for its year, wherever it is entered late."""

from __future__ import annotations

import functools
from datetime import date
from typing import Final

from sqlalchemy import Column, Integer, String

from jinguo_contracts.areas import area_ancestors
from jinguo_contracts.orders import (
    FollowUpCallRecordedV1,
    OrderPlacedV1,
    OrderRatedV1,
    ServiceCompletedV1,
    VolunteerHoursEarnedV1,
    VolunteerHoursSpentV1,
)
from jinguo_orders.domain.order import delivered_on
from jinguo_shared.clock import business_day
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

rollup = functools.lru_cache(maxsize=4096)(area_ancestors)
REQUESTED = "`occurred_on`, the day the resident requested it"
DELIVERED = "`completed_at`, the day (programme's time zone) the service was completed"
RATED = "`occurred_on`, the day she rated it"
INDICATORS: Final[dict[str, tuple[str, str]]] = {
    "orders_requested": ("orders placed (下单)", REQUESTED),
    "orders_delivered": ("services delivered: orders completed", DELIVERED),
    "served_free": ("services delivered free (无偿), one per visit (人次)", DELIVERED),
    "served_low_cost": ("services delivered at low cost (低偿), one per visit (人次)", DELIVERED),
    "service_centihours": (
        "hours of service delivered, in hundredths of an hour (250 = 2.5 h)",
        DELIVERED,
    ),
    "volunteer_centihours_earned": (
        "volunteer hours banked (志愿服务时间储蓄), in hundredths of an hour",
        "`served_on`, the day she served",
    ),
    "volunteer_centihours_spent": (
        "banked volunteer hours drawn on, in hundredths of an hour",
        "`spent_on`, the day they were spent",
    ),
    "ratings": ("services rated by the resident (满意程度)", RATED),
    "rating_sum": (
        "the sum of those ratings (1 to 5 each): divided by `ratings`, the average satisfaction",
        RATED,
    ),
    "follow_up_calls": ("follow-up calls to residents (回访)", "`called_on`, the day of the call"),
    "follow_ups_satisfied": (
        "follow-up calls in which the resident said she was satisfied",
        "`called_on`, the day of the call",
    ),
}
"""Each key an area report counts: what it counts, and the date that decides the month it is
counted in. Events recorded before they carried a business date count on the day the log
recorded them; ratings and calls recorded before they named the order's area are not counted."""


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def centihours(hours: float) -> int:
    return round(hours * 100)


class OrdersReports(Projection):
    name = "orders_reports"
    subjects = (
        "orders.order.*.OrderPlaced",
        "orders.order.*.ServiceCompleted",
        "orders.order.*.OrderRated",
        "orders.order.*.FollowUpCallRecorded",
        "orders.timebank.>",
    )

    def define(self) -> None:
        self.counts = self.table(
            "orders_month_counts",
            Column("area_code", String(12), primary_key=True),
            Column("month", String(7), primary_key=True),
            Column("metric", String(48), primary_key=True),
            Column("count", Integer, nullable=False, default=0),
        )

    def _add(self, b: ProjectionBatch, area: str, day: date, metric: str, amount: int = 1) -> None:
        month = month_of(day)
        for code in rollup(area):
            b.increment(
                self.counts,
                {"area_code": code, "month": month, "metric": metric},
                {"count": amount},
            )

    @handles(OrderPlacedV1)
    def _placed(self, e: OrderPlacedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        day = business_day(e.occurred_on, at.envelope.time)
        self._add(b, e.area_code, day, "orders_requested")

    @handles(ServiceCompletedV1)
    def _completed(self, e: ServiceCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        day = delivered_on(e)
        self._add(b, e.area_code, day, "orders_delivered")
        if e.price_tier == "free":
            self._add(b, e.area_code, day, "served_free")
        elif e.price_tier == "low_cost":
            self._add(b, e.area_code, day, "served_low_cost")
        seconds = (e.completed_at - e.started_at).total_seconds()
        self._add(b, e.area_code, day, "service_centihours", round(seconds / 36))

    @handles(OrderRatedV1)
    def _rated(self, e: OrderRatedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        if e.area_code is None:
            return
        day = business_day(e.occurred_on, at.envelope.time)
        self._add(b, e.area_code, day, "ratings")
        self._add(b, e.area_code, day, "rating_sum", e.score)

    @handles(FollowUpCallRecordedV1)
    def _called(self, e: FollowUpCallRecordedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.area_code is None:
            return
        self._add(b, e.area_code, e.called_on, "follow_up_calls")
        if e.satisfied:
            self._add(b, e.area_code, e.called_on, "follow_ups_satisfied")

    @handles(VolunteerHoursEarnedV1)
    def _earned(self, e: VolunteerHoursEarnedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.served_on, "volunteer_centihours_earned", centihours(e.hours))

    @handles(VolunteerHoursSpentV1)
    def _spent(self, e: VolunteerHoursSpentV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        self._add(b, e.area_code, e.spent_on, "volunteer_centihours_spent", centihours(e.hours))
