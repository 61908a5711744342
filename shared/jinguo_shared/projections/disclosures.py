"""Every service's record of the personal data it disclosed, per data subject.

Each service publishes `PersonalDataDisclosed` on its own stream, so its disclosures projection
follows a stream that the service's projections follow already: the same consumer, nothing new
in its NATS lane. The rows name fields, never their values, and stay when the subject is
erased: who received what about her is the point of keeping them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, String, Text

from jinguo_contracts.access import PersonalDataDisclosedV1
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class Disclosures(Projection):
    """One per service (`Disclosures.of`): its subjects are that service's own."""

    name = "disclosures"
    subjects: ClassVar[tuple[str, ...]] = ()

    def define(self) -> None:
        self.disclosures = self.table(
            "personal_data_disclosures",
            Column("seq", BigInteger, primary_key=True),
            Column("subject_id", String(64), nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("client_id", String(64), nullable=False),
            Column("agency_id", String(64), nullable=False),
            Column("officer_id", String(64), nullable=True),
            Column("fields", JSON, nullable=False),
            Column("purpose", Text, nullable=False),
            Column("channel", String(20), nullable=False),
            Column("event_ids", JSON, nullable=False),
            Column("disclosed_at", DateTime(timezone=True), nullable=False),
        )
        Index(
            f"ix_disclosures_subject_g{self.generation}",
            self.disclosures.c.subject_id,
            self.disclosures.c.seq,
        )

    @handles(PersonalDataDisclosedV1)
    def _disclosed(
        self, e: PersonalDataDisclosedV1, r: RecordedEvent, batch: ProjectionBatch
    ) -> None:
        row: dict[str, Any] = {
            "seq": r.seq,
            "subject_id": e.subject_id,
            "area_code": e.area_code,
            "client_id": e.client_id,
            "agency_id": e.agency_id,
            "officer_id": e.officer_id,
            "fields": list(e.fields),
            "purpose": e.purpose,
            "channel": e.channel,
            "event_ids": list(e.event_ids),
            "disclosed_at": e.disclosed_at,
        }
        batch.upsert(self.disclosures, row)

    @staticmethod
    def of(service: str) -> type[Disclosures]:
        """The disclosures projection of the service that writes `<service>.>`."""
        return _BY_SERVICE[service]


def _for(service: str) -> type[Disclosures]:
    # a class at module level, so a rebuild's planning process can import it by name
    klass = type(
        f"{service.capitalize()}Disclosures",
        (Disclosures,),
        {"subjects": (f"{service}.disclosure.>",), "__module__": __name__},
    )
    globals()[klass.__name__] = klass
    return klass


_BY_SERVICE = {
    service: _for(service) for service, spec in SERVICE_STREAMS.items() if spec.owner == service
}
