"""The CloudEvents 1.0 envelope every event travels in (structured JSON mode).

Hand-written, not the `cloudevents` SDK: decoding one event here takes ~5.5 µs against ~38 µs
with the SDK's JSON format (2.2.0, measured 2026-12-05), and a rebuild decodes millions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

import orjson

from jinguo_contracts.base import CATALOGUE, ContractCatalogue, EventContract
from jinguo_shared.access import Jurisdiction

EVENT_ID_NAMESPACE = UUID("5f0c1d2e-8a7b-4c3d-9e10-6a1b2c3d4e5f")


def event_id(command_id: str, index: int) -> str:
    """Deterministic, so a retried command re-publishes the same ids and NATS drops the copies."""
    return str(uuid5(EVENT_ID_NAMESPACE, f"{command_id}/{index}"))


def nats_subject(service: str, aggregate: str, aggregate_id: str, event_type: str) -> str:
    return f"{service}.{aggregate}.{aggregate_id}.{event_type}"


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asked, and why: carried into every event the command records."""

    command_id: str
    correlation_id: str
    causation_id: str | None = None
    agency_id: str | None = None
    actor: str | None = None
    traceparent: str | None = None
    jurisdiction: Jurisdiction | None = None
    """Where the caller may act; None for the system itself (policies, operators' tools)."""
    correction: str | None = None
    """Why a fact is recorded in a period already closed (a late correction), if it is."""


@dataclass(slots=True)
class Envelope:
    """Not frozen, though never changed: a frozen dataclass takes ~8 times as long to build, and
    consumers build one per event they read (millions in a rebuild)."""

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    dataschema: str
    schemaversion: int
    correlationid: str
    data: dict[str, Any]
    causationid: str | None = None
    agencyid: str | None = None
    actorid: str | None = None
    traceparent: str | None = None
    correction: str | None = None

    def to_json(self) -> bytes:
        body = {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time,
            "datacontenttype": "application/json",
            "dataschema": self.dataschema,
            "schemaversion": self.schemaversion,
            "correlationid": self.correlationid,
            "causationid": self.causationid,
            "agencyid": self.agencyid,
            "actorid": self.actorid,
            "traceparent": self.traceparent,
            "data": self.data,
        }
        if self.correction is not None:  # a late correction to a closed period, and why
            body["correction"] = self.correction
        return orjson.dumps(body)

    @classmethod
    def from_json(cls, raw: bytes) -> Envelope:
        body = orjson.loads(raw)
        try:
            return cls(
                id=body["id"],
                source=body["source"],
                type=body["type"],
                subject=body["subject"],
                time=datetime.fromisoformat(body["time"]),
                dataschema=body["dataschema"],
                schemaversion=int(body["schemaversion"]),
                correlationid=body["correlationid"],
                data=body["data"],
                causationid=body.get("causationid"),
                agencyid=body.get("agencyid"),
                actorid=body.get("actorid"),
                traceparent=body.get("traceparent"),
                correction=body.get("correction"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise MalformedEventError(f"not a Jinguo CloudEvent: {error}") from error


class MalformedEventError(ValueError):
    pass


@dataclass(slots=True)
class RecordedEvent:
    """An event as read back from the log: where it sits, its envelope, its upcast payload.
    Never changed; not frozen for the same reason as `Envelope`."""

    stream: str
    seq: int
    nats_subject: str
    envelope: Envelope
    payload: EventContract = field(repr=False)

    @property
    def type(self) -> str:
        return self.envelope.type


def seal_data(event: EventContract, sealer: Any | None) -> dict[str, Any]:
    """The event's JSON data with its PII fields sealed by `sealer(subject_id, plaintext)`."""
    data: dict[str, Any] = event.model_dump(mode="json")
    pii = event.pii_fields()
    if pii and sealer is not None:
        subject_field = event.pii_subject_field or f"{event.aggregate}_id"
        subject_id = data[subject_field]
        for name in pii:
            if data.get(name) is not None:
                data[name] = sealer(subject_id, data[name])
    return data


def make_envelope(
    event: EventContract,
    aggregate_id: str,
    index: int,
    context: CommandContext,
    data: dict[str, Any],
    *,
    source_service: str | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """`source_service`: the service publishing it, where the contract is any service's;
    `traceparent`: its creation context (its publication's span), else the command's."""
    return Envelope(
        id=event_id(context.command_id, index),
        source=f"/jinguo/{source_service or event.service}",
        type=event.event_type,
        subject=aggregate_id,
        time=datetime.now(UTC),
        dataschema=event.schema_id(),
        schemaversion=event.version,
        correlationid=context.correlation_id,
        causationid=context.causation_id,
        agencyid=context.agency_id,
        actorid=context.actor,
        traceparent=traceparent or context.traceparent,
        data=data,
        correction=context.correction,
    )


def decode(
    stream: str, seq: int, subject: str, raw: bytes, catalogue: ContractCatalogue = CATALOGUE
) -> RecordedEvent:
    """Parse and upcast; PII stays sealed (only the API unseals, for the rows it serves)."""
    envelope = Envelope.from_json(raw)
    contract = catalogue.latest(envelope.type)
    data = catalogue.upcast(envelope.type, envelope.schemaversion, envelope.data)
    payload = contract.model_validate(data)
    return RecordedEvent(stream, seq, subject, envelope, payload)
