"""The services-orders read models. Tables fed by different streams are kept apart, so each
projection is the same whichever stream a consumer reads first. Only ids and sealed PII here.

A person the registry erases leaves no row of hers in the tables the registry's stream feeds
(her community, her eligibility), only a mark that she was erased; orders' own tables keep
their figures, and the queries stop naming her wherever they meet the mark.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, DateTime, Index, Integer, String

from jinguo_contracts.orders import (
    FollowUpCallRecordedV1,
    OrderAcceptedV1,
    OrderAssignedV1,
    OrderCancelledV1,
    OrderNoShowV1,
    OrderPlacedV1,
    OrderRatedV1,
    OrderRejectedV1,
    ServiceCompletedV1,
    ServiceOfferedV1,
    ServiceStartedV1,
    SettlementIssuedV1,
    VolunteerHoursEarnedV1,
    VolunteerHoursSpentV1,
    WorkerBookedV1,
    WorkerLeftDispatchV1,
    WorkerQualifiedV1,
    WorkerRejoinedDispatchV1,
    WorkerReleasedV1,
    WorkerTrainedV1,
)
from jinguo_contracts.registry import (
    ProviderRegisteredV1,
    ProviderReinstatedV1,
    ProviderSuspendedV1,
    ResidentEligibilityChangedV1,
    ResidentErasedV1,
    ResidentRegisteredV1,
    VolunteerRegisteredV1,
    WorkerErasedV1,
    WorkerProfileUpdatedV1,
    WorkerRegisteredV1,
)
from jinguo_orders.domain.order import delivered_on
from jinguo_shared.db import pii_keys
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch

STATUS_OF: dict[type[Any], str] = {
    OrderAssignedV1: "assigned",
    OrderAcceptedV1: "accepted",
    OrderRejectedV1: "placed",
    ServiceStartedV1: "in_service",
    ServiceCompletedV1: "completed",
    OrderCancelledV1: "cancelled",
    OrderNoShowV1: "no_show",
}


class OrderBoard(Projection):
    """The catalogue, every order's current state, and its full history: who did what, when."""

    name = "order_board"
    subjects = ("orders.service.>", "orders.order.>")

    def define(self) -> None:
        self.services = self.table(
            "catalogue",
            Column("service_code", String(40), primary_key=True),
            Column("category", String(20), nullable=False),
            Column("name", String(200), nullable=False),
            Column("market_price", Integer, nullable=False),
            Column("low_cost_price", Integer, nullable=False),
            Column("required_certificates", JSON, nullable=False),
        )
        self.orders = self.table(
            "orders",
            Column("order_id", String(64), primary_key=True),
            Column("resident_id", String(64), nullable=False, index=True),
            Column("service_code", String(40), nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("address", String(2000)),
            Column("notes", String(4000)),
            Column("window_start", DateTime(timezone=True), nullable=False),
            Column("window_end", DateTime(timezone=True), nullable=False),
            Column("price_tier", String(10), nullable=False),
            Column("price", Integer, nullable=False),
            Column("market_price", Integer, nullable=False),
            Column("status", String(12), nullable=False),
            Column("worker_id", String(64)),
            Column("provider_id", String(64)),
            Column("assigned_how", String(12)),
            Column("rating", Integer),
            Column("seq", BigInteger, nullable=False),
        )
        Index(f"ix_orders_status_g{self.generation}", self.orders.c.status, self.orders.c.seq)
        self.history = self.table(
            "order_history",
            Column("order_id", String(64), primary_key=True),
            Column("seq", BigInteger, primary_key=True),
            Column("event_type", String(40), nullable=False),
            Column("actor", String(200)),
            Column("at", DateTime(timezone=True), nullable=False),
            Column("detail", JSON, nullable=False),
        )

    @handles(ServiceOfferedV1)
    def _offered(self, e: ServiceOfferedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.services, e.model_dump(mode="json"))

    def _remember(self, order_id: str, at: RecordedEvent, b: ProjectionBatch) -> None:
        """Personal fields stay sealed here: the query unseals them while she is not erased."""
        detail = at.payload.model_dump(mode="json", exclude={"order_id"})
        b.upsert(
            self.history,
            {
                "order_id": order_id,
                "seq": at.seq,
                "event_type": at.type,
                "actor": at.envelope.actorid,
                "at": at.envelope.time,
                "detail": detail,
            },
        )

    @handles(OrderPlacedV1)
    def _placed(self, e: OrderPlacedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.orders,
            {
                "order_id": e.order_id,
                "resident_id": e.resident_id,
                "service_code": e.service_code,
                "area_code": e.area_code,
                "address": e.address,
                "notes": e.notes,
                "window_start": e.window_start,
                "window_end": e.window_end,
                "price_tier": e.price_tier,
                "price": e.price,
                "market_price": e.market_price,
                "status": "placed",
                "worker_id": None,
                "provider_id": None,
                "assigned_how": None,
                "rating": None,
                "seq": at.seq,
            },
        )
        self._remember(e.order_id, at, b)

    @handles(
        OrderAssignedV1,
        OrderAcceptedV1,
        OrderRejectedV1,
        ServiceStartedV1,
        ServiceCompletedV1,
        OrderCancelledV1,
        OrderNoShowV1,
    )
    def _moved(self, e: Any, at: RecordedEvent, b: ProjectionBatch) -> None:
        changes: dict[str, Any] = {"status": STATUS_OF[type(e)]}
        if isinstance(e, OrderAssignedV1):
            changes |= {"worker_id": e.worker_id, "provider_id": e.provider_id}
            changes["assigned_how"] = e.how
        elif isinstance(e, OrderRejectedV1):
            changes |= {"worker_id": None, "provider_id": None, "assigned_how": None}
        b.update(self.orders, {"order_id": e.order_id}, changes)
        self._remember(e.order_id, at, b)

    @handles(OrderRatedV1, FollowUpCallRecordedV1)
    def _after(self, e: Any, at: RecordedEvent, b: ProjectionBatch) -> None:
        if isinstance(e, OrderRatedV1):
            b.update(self.orders, {"order_id": e.order_id}, {"rating": e.score})
        self._remember(e.order_id, at, b)


class DispatchPool(Projection):
    """Who can be dispatched: registered workers (registry), what orders knows of their
    certificates, posts and bookings, and the service providers."""

    name = "dispatch_pool"
    subjects = (
        "registry.worker.*.WorkerRegistered",
        "registry.worker.*.WorkerProfileUpdated",
        "registry.worker.*.WorkerErased",
        "registry.provider.>",
        "orders.worker.>",
    )

    def define(self) -> None:
        self.workers = self.table(
            "pool_workers",
            Column("worker_id", String(64), primary_key=True),
            Column("area_code", String(12), nullable=False),
            Column("district", String(6), nullable=False),
        )
        Index(f"ix_pool_district_g{self.generation}", self.workers.c.district)
        self.erased = self.table(
            "erased_workers", Column("worker_id", String(64), primary_key=True)
        )
        self.qualifications = self.table(
            "pool_qualifications",
            Column("occupation_code", String(12), primary_key=True),
            Column("worker_id", String(64), primary_key=True),
        )
        self.trades = self.table(
            "pool_trades",
            Column("worker_id", String(64), primary_key=True),
            Column("trade", String(60), primary_key=True),
        )
        self.departures = self.table(
            "pool_departures",
            Column("worker_id", String(64), primary_key=True),
            Column("reason", String(2000), nullable=False),
        )
        self.bookings = self.table(
            "pool_bookings",
            Column("order_id", String(64), primary_key=True),
            Column("worker_id", String(64), nullable=False, index=True),
            Column("window_start", DateTime(timezone=True), nullable=False),
            Column("window_end", DateTime(timezone=True), nullable=False),
        )
        self.providers = self.table(
            "pool_providers",
            Column("provider_id", String(64), primary_key=True),
            Column("area_code", String(12), nullable=False),
            Column("services", JSON, nullable=False),
            Column("suspended", Boolean, nullable=False),
        )

    @handles(WorkerRegisteredV1)
    def _registered(self, e: WorkerRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.workers,
            {
                "worker_id": e.worker_id,
                "area_code": e.area_code,
                "district": e.area_code[:6],
            },
        )

    @handles(WorkerProfileUpdatedV1)
    def _moved(self, e: WorkerProfileUpdatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.area_code is not None:
            b.update(
                self.workers,
                {"worker_id": e.worker_id},
                {"area_code": e.area_code, "district": e.area_code[:6]},
            )

    @handles(WorkerErasedV1)
    def _erased(self, e: WorkerErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.workers, {"worker_id": e.worker_id})
        b.upsert(self.erased, {"worker_id": e.worker_id})

    @handles(ProviderRegisteredV1)
    def _provider(self, e: ProviderRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.providers,
            {
                "provider_id": e.provider_id,
                "area_code": e.area_code,
                "services": list(e.services),
                "suspended": False,
            },
        )

    @handles(ProviderSuspendedV1)
    def _suspended(self, e: ProviderSuspendedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.providers, {"provider_id": e.provider_id}, {"suspended": True})

    @handles(ProviderReinstatedV1)
    def _reinstated(self, e: ProviderReinstatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.providers, {"provider_id": e.provider_id}, {"suspended": False})

    @handles(WorkerQualifiedV1)
    def _qualified(self, e: WorkerQualifiedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.qualifications, {"occupation_code": e.occupation_code, "worker_id": e.worker_id}
        )

    @handles(WorkerTrainedV1)
    def _trained(self, e: WorkerTrainedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.trades, {"worker_id": e.worker_id, "trade": e.trade})

    @handles(WorkerLeftDispatchV1)
    def _left(self, e: WorkerLeftDispatchV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.departures, {"worker_id": e.worker_id, "reason": e.reason})

    @handles(WorkerRejoinedDispatchV1)
    def _rejoined(self, e: WorkerRejoinedDispatchV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.departures, {"worker_id": e.worker_id})

    @handles(WorkerBookedV1)
    def _booked(self, e: WorkerBookedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.bookings,
            {
                "order_id": e.order_id,
                "worker_id": e.worker_id,
                "window_start": e.window_start,
                "window_end": e.window_end,
            },
        )

    @handles(WorkerReleasedV1)
    def _released(self, e: WorkerReleasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.bookings, {"order_id": e.order_id})


class Community(Projection):
    """Residents with the price tier the registry last gave them, and volunteers.

    A resident erased by the registry (`ResidentErased`) is erased here too: her row goes, and
    her key in this service's vault, so the addresses and words sealed in her orders become
    unreadable in the log and in every projection; a replay deletes the same."""

    name = "orders_community"
    subjects = ("registry.resident.>", "registry.volunteer.>")

    def define(self) -> None:
        self.residents = self.table(
            "residents",
            Column("resident_id", String(64), primary_key=True),
            Column("area_code", String(12), nullable=False),
            Column("price_tier", String(10), nullable=False),
            Column("reason", String(40), nullable=False),
            Column("valid_until", Date),
        )
        self.erased = self.table(
            "erased_residents", Column("resident_id", String(64), primary_key=True)
        )
        self.volunteers = self.table(
            "volunteers",
            Column("volunteer_id", String(64), primary_key=True),
            Column("area_code", String(12), nullable=False),
        )

    @handles(ResidentRegisteredV1)
    def _resident(self, e: ResidentRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.residents,
            {
                "resident_id": e.resident_id,
                "area_code": e.area_code,
                "price_tier": "market",
                "reason": "none",
                "valid_until": None,
            },
        )

    @handles(ResidentEligibilityChangedV1)
    def _eligibility(
        self, e: ResidentEligibilityChangedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(
            self.residents,
            {"resident_id": e.resident_id},
            {"price_tier": e.price_tier, "reason": e.reason, "valid_until": e.valid_until},
        )

    @handles(ResidentErasedV1)
    def _erased(self, e: ResidentErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.residents, {"resident_id": e.resident_id})
        b.upsert(self.erased, {"resident_id": e.resident_id})
        b.delete(pii_keys, {"subject_id": e.resident_id})

    @handles(VolunteerRegisteredV1)
    def _volunteer(self, e: VolunteerRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.volunteers, {"volunteer_id": e.volunteer_id, "area_code": e.area_code})


class Quality(Projection):
    """满意程度 and completed work per worker and provider, for dispatch and commendations
    (优秀服务员, 示范岗)."""

    name = "quality"
    subjects = (
        "orders.order.*.ServiceCompleted",
        "orders.order.*.OrderRated",
        "orders.order.*.FollowUpCallRecorded",
    )

    def define(self) -> None:
        self.performers = self.table(
            "performers",
            Column("kind", String(8), primary_key=True),
            Column("performer_id", String(64), primary_key=True),
            Column("completed", Integer, nullable=False, default=0),
            Column("rating_sum", Integer, nullable=False, default=0),
            Column("ratings", Integer, nullable=False, default=0),
        )
        self.follow_ups = self.table(
            "follow_ups",
            Column("order_id", String(64), primary_key=True),
            Column("called_on", Date, nullable=False),
            Column("satisfied", Boolean, nullable=False),
        )

    @staticmethod
    def _who(e: ServiceCompletedV1 | OrderRatedV1) -> dict[str, str]:
        if e.worker_id is not None:
            return {"kind": "worker", "performer_id": e.worker_id}
        assert e.provider_id is not None
        return {"kind": "provider", "performer_id": e.provider_id}

    @handles(ServiceCompletedV1)
    def _completed(self, e: ServiceCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.increment(self.performers, self._who(e), {"completed": 1})

    @handles(OrderRatedV1)
    def _rated(self, e: OrderRatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.worker_id is None and e.provider_id is None:
            return
        b.increment(self.performers, self._who(e), {"rating_sum": e.score, "ratings": 1})

    @handles(FollowUpCallRecordedV1)
    def _called(self, e: FollowUpCallRecordedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.follow_ups,
            {"order_id": e.order_id, "called_on": e.called_on, "satisfied": e.satisfied},
        )


class Settlements(Projection):
    """What was delivered per community and month, at the tier and prices fixed on each order
    (the month is the delivery's business date, `delivered_on`, never the day it was typed in),
    and the issued statements."""

    name = "settlements"
    subjects = (
        "orders.order.*.OrderPlaced",
        "orders.order.*.ServiceCompleted",
        "orders.settlement.>",
    )

    def define(self) -> None:
        self.deliveries = self.table(
            "deliveries",
            Column("order_id", String(64), primary_key=True),
            Column("area_code", String(12), nullable=False),
            Column("service_code", String(40), nullable=False),
            Column("price_tier", String(10), nullable=False),
            Column("price", Integer, nullable=False),
            Column("market_price", Integer, nullable=False),
            Column("month", String(7)),
            Column("completed_on", Date),
        )
        Index(
            f"ix_deliveries_month_g{self.generation}",
            self.deliveries.c.area_code,
            self.deliveries.c.month,
        )
        self.issued = self.table(
            "issued_settlements",
            Column("settlement_id", String(40), primary_key=True),
            Column("area_code", String(12), nullable=False),
            Column("month", String(7), nullable=False),
            Column("total_owed", Integer, nullable=False),
            Column("lines", JSON, nullable=False),
            Column("seq", BigInteger, nullable=False),
        )

    @handles(OrderPlacedV1)
    def _placed(self, e: OrderPlacedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.deliveries,
            {
                "order_id": e.order_id,
                "area_code": e.area_code,
                "service_code": e.service_code,
                "price_tier": e.price_tier,
                "price": e.price,
                "market_price": e.market_price,
                "month": None,
                "completed_on": None,
            },
        )

    @handles(ServiceCompletedV1)
    def _completed(self, e: ServiceCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        on = delivered_on(e)
        b.update(
            self.deliveries,
            {"order_id": e.order_id},
            {"month": on.strftime("%Y-%m"), "completed_on": on},
        )

    @handles(SettlementIssuedV1)
    def _issued(self, e: SettlementIssuedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.issued,
            {
                "settlement_id": e.settlement_id,
                "area_code": e.area_code,
                "month": e.month,
                "total_owed": e.total_owed,
                "lines": [line.model_dump(mode="json") for line in e.lines],
                "seq": at.seq,
            },
        )


class TimeBankLedger(Projection):
    """Every entry of every volunteer's time bank, and the balance in hundredths of an hour."""

    name = "time_bank"
    subjects = ("orders.timebank.>",)

    def define(self) -> None:
        self.entries = self.table(
            "time_bank_entries",
            Column("volunteer_id", String(64), primary_key=True),
            Column("seq", BigInteger, primary_key=True),
            Column("entry_id", String(64), nullable=False),
            Column("kind", String(6), nullable=False),
            Column("hours", String(12), nullable=False),
            Column("what", String(2000), nullable=False),
            Column("on", Date, nullable=False),
        )
        self.balances = self.table(
            "time_bank_balances",
            Column("volunteer_id", String(64), primary_key=True),
            Column("centihours", Integer, nullable=False, default=0),
        )

    @handles(VolunteerHoursEarnedV1, VolunteerHoursSpentV1)
    def _entry(self, e: Any, at: RecordedEvent, b: ProjectionBatch) -> None:
        earned = isinstance(e, VolunteerHoursEarnedV1)
        b.upsert(
            self.entries,
            {
                "volunteer_id": e.volunteer_id,
                "seq": at.seq,
                "entry_id": e.entry_id,
                "kind": "earned" if earned else "spent",
                "hours": f"{e.hours:g}",
                "what": e.activity if earned else e.purpose,
                "on": e.served_on if earned else e.spent_on,
            },
        )
        centihours = round(e.hours * 100)
        b.increment(
            self.balances,
            {"volunteer_id": e.volunteer_id},
            {"centihours": centihours if earned else -centihours},
        )
