"""The event store: JetStream streams as the source of truth, one subject per aggregate event."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from nats.aio.client import Client as NatsClient
from nats.js.api import StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError

from jinguo_contracts.base import CATALOGUE, ContractCatalogue, EventContract
from jinguo_shared.crypto import PiiVault
from jinguo_shared.envelope import (
    CommandContext,
    RecordedEvent,
    decode,
    make_envelope,
    nats_subject,
    seal_data,
)

log = logging.getLogger(__name__)

WRONG_LAST_SEQUENCE = 10071
BATCH_DUPLICATE_MSG_ID = 10201
DUPLICATE_WINDOW_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    owner: str
    """The one service that writes the stream (and creates it on start)."""
    confidential: bool = False
    """Readable by its owner only: no other service's NATS user may consume or get from it."""


SERVICE_STREAMS: dict[str, StreamSpec] = {
    "registry": StreamSpec("REGISTRY", ("registry.>",), owner="registry"),
    "employment": StreamSpec("EMPLOYMENT", ("employment.>",), owner="employment"),
    "orders": StreamSpec("ORDERS", ("orders.>",), owner="orders"),
    "rights": StreamSpec("RIGHTS", ("rights.>",), owner="rights", confidential=True),
    # owned by the rights service, apart from its confidential case stream, for others to read
    "inspections": StreamSpec("INSPECTIONS", ("inspections.>",), owner="rights"),
}
"""Streams by subject prefix (the first token of every subject they hold)."""


def owned_streams(service: str) -> list[StreamSpec]:
    return [spec for spec in SERVICE_STREAMS.values() if spec.owner == service]


def stream_owners() -> list[str]:
    return sorted({spec.owner for spec in SERVICE_STREAMS.values()})


def stream_config(spec: StreamSpec, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        allow_direct=True,
        allow_atomic=True,
        deny_delete=True,
        deny_purge=True,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, replicas: int) -> None:
    """Create the stream, or bring its settings in line; safe at every start-up."""
    wanted = stream_config(spec, replicas)
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(wanted)
        log.info("created stream %s", spec.name)
        return
    current = info.config
    if (
        sorted(current.subjects or []) != sorted(wanted.subjects or [])
        or current.num_replicas != replicas
        or not current.allow_direct
        or not current.allow_atomic
    ):
        await js.update_stream(wanted)
        log.info("updated stream %s", spec.name)


async def read_event(
    js: JetStreamContext, stream: str, seq: int, catalogue: ContractCatalogue = CATALOGUE
) -> RecordedEvent:
    """One event by its stream sequence (direct get), decoded and upcast."""
    message = await js.get_msg(stream, seq=seq, direct=True)
    assert message.data is not None
    assert message.subject is not None
    return decode(stream, seq, message.subject, message.data, catalogue)


@dataclass(frozen=True, slots=True)
class AggregateWrite:
    """One aggregate's new events and the version they were decided on."""

    aggregate_type: str
    aggregate_id: str
    expected_seq: int
    events: Sequence[EventContract]


class ConcurrencyConflictError(Exception):
    """Someone appended to the aggregate since its state was read."""


class AppendRejectedError(RuntimeError):
    pass


class EventStore:
    def __init__(
        self,
        nc: NatsClient,
        service: str,
        vault: PiiVault | None,
        catalogue: ContractCatalogue = CATALOGUE,
    ) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self.service = service
        self.stream = SERVICE_STREAMS[service].name
        self._vault = vault
        self._catalogue = catalogue

    def aggregate_subjects(self, aggregate_type: str, aggregate_id: str) -> str:
        return f"{self.service}.{aggregate_type}.{aggregate_id}.*"

    async def append(
        self,
        aggregate_type: str,
        aggregate_id: str,
        expected_seq: int,
        events: Sequence[EventContract],
        context: CommandContext,
    ) -> int:
        """Append all of a command's events or none; returns the sequence of the last one."""
        [last] = await self.append_together(
            [AggregateWrite(aggregate_type, aggregate_id, expected_seq, events)], context
        )
        return last

    async def append_together(
        self, writes: Sequence[AggregateWrite], context: CommandContext
    ) -> list[int]:
        """Append the events of several aggregates as one atomic batch, each aggregate guarded
        by its own expected last subject sequence: all land or none. Returns, per write, the
        sequence of its last event (its new version)."""
        writes = [write for write in writes if write.events]
        if self._vault is not None:
            subjects = {
                getattr(e, e.pii_subject_field or f"{e.aggregate}_id")
                for write in writes
                for e in write.events
                if e.pii_fields()
            }
            await self._vault.prepare(subjects, create=True)
        sealer = self._vault.seal if self._vault is not None else None
        messages: list[tuple[str, bytes, dict[str, str]]] = []
        index = 0
        for write in writes:
            first = len(messages)
            for event in write.events:
                envelope = make_envelope(
                    event, write.aggregate_id, index, context, seal_data(event, sealer)
                )
                index += 1
                subject = nats_subject(
                    self.service, write.aggregate_type, write.aggregate_id, event.event_type
                )
                headers = {"Nats-Msg-Id": envelope.id}
                if context.traceparent:
                    headers["traceparent"] = context.traceparent
                messages.append((subject, envelope.to_json(), headers))
            messages[first][2].update(
                {
                    "Nats-Expected-Last-Subject-Sequence": str(write.expected_seq),
                    "Nats-Expected-Last-Subject-Sequence-Subject": self.aggregate_subjects(
                        write.aggregate_type, write.aggregate_id
                    ),
                }
            )
        if len(messages) == 1:
            subject, payload, headers = messages[0]
            try:
                ack = await self._js.publish(subject, payload, stream=self.stream, headers=headers)
            except BadRequestError as error:
                if error.err_code == WRONG_LAST_SEQUENCE:
                    raise ConcurrencyConflictError(error.description) from error
                raise AppendRejectedError(f"{error.err_code}: {error.description}") from error
            return [ack.seq]
        last = await self._append_batch(messages)
        first_seq = last - len(messages) + 1
        versions = []
        done = 0
        for write in writes:
            done += len(write.events)
            versions.append(first_seq + done - 1)
        return versions

    async def _append_batch(self, messages: list[tuple[str, bytes, dict[str, str]]]) -> int:
        """NATS atomic batch publish: the server stores every message of the batch or none."""
        batch_id = uuid.uuid4().hex
        last = len(messages)
        for number, (subject, payload, headers) in enumerate(messages, start=1):
            headers["Nats-Batch-Id"] = batch_id
            headers["Nats-Batch-Sequence"] = str(number)
            if number < last:
                await self._nc.publish(subject, payload, headers=headers)
        subject, payload, headers = messages[-1]
        headers["Nats-Batch-Commit"] = "1"
        reply = await self._nc.request(subject, payload, headers=headers, timeout=5)
        answer = orjson.loads(reply.data)
        error = answer.get("error")
        if error:
            if error.get("err_code") in (WRONG_LAST_SEQUENCE, BATCH_DUPLICATE_MSG_ID):
                raise ConcurrencyConflictError(error.get("description", ""))
            raise AppendRejectedError(f"{error.get('err_code')}: {error.get('description')}")
        return int(answer["seq"])

    async def load(self, aggregate_type: str, aggregate_id: str) -> list[RecordedEvent]:
        """An aggregate's whole history from the log: the slow path, taken only after a conflict."""
        subject = self.aggregate_subjects(aggregate_type, aggregate_id)
        events: list[RecordedEvent] = []
        seq = 1
        while True:
            try:
                msg = await self._js.get_msg(
                    self.stream, seq=seq, subject=subject, direct=True, next=True
                )
            except NotFoundError:
                return events
            if msg.seq is None or msg.data is None or msg.subject is None:
                return events
            events.append(decode(self.stream, msg.seq, msg.subject, msg.data, self._catalogue))
            seq = msg.seq + 1
