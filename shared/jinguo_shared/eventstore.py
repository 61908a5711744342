"""The event store: JetStream streams as the source of truth, one subject per aggregate event."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError

from jinguo_contracts.base import CATALOGUE, ContractCatalogue, EventContract
from jinguo_shared.crypto import PiiVault
from jinguo_shared.envelope import (
    CommandContext,
    RecordedEvent,
    decode,
    event_id,
    make_envelope,
    nats_subject,
    seal_data,
)
from jinguo_shared.telemetry import command_trace, publishing, start_publishing, traceparent_of

log = logging.getLogger(__name__)

WRONG_LAST_SEQUENCE = 10071
BATCH_DUPLICATE_MSG_ID = 10201
STREAM_NOT_FOUND = 10059
NO_SUITABLE_PEERS = 10005
PLACEMENT_WAIT_SECONDS = 30.0
DUPLICATE_WINDOW_NS = 120 * 10**9


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    owner: str
    """The one service that writes the stream."""
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


STREAMS_BY_NAME = {spec.name: spec for spec in SERVICE_STREAMS.values()}


# provisioning --------------------------------------------------------------------------------
#
# Streams are created and configured by an operator with the admin user (`jinguo streams
# provision`); services may not, and check at start that theirs are as provisioned. The
# settings are compared as the JetStream API spells them, unset and default alike as None, so
# fields nats-py does not know are checked too.

IMMUTABLE_SETTINGS = (
    "storage",
    "sealed",
    "allow_msg_ttl",
    "allow_msg_counter",
    "allow_msg_schedules",
    "persist_mode",
)
"""Settings the server will not change on an existing stream (to the value wanted)."""


def stream_settings(spec: StreamSpec, replicas: int) -> dict[str, Any]:
    """Every stream: its subjects, on file, no limit, nothing deleted, purged, copied in,
    rolled up or expiring, duplicates caught for 2 minutes, direct get and atomic batches."""
    return {
        "subjects": sorted(spec.subjects),
        "storage": "file",
        "retention": "limits",
        "num_replicas": replicas,
        "max_consumers": -1,
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": None,
        "max_msgs_per_subject": -1,
        "max_msg_size": -1,
        "duplicate_window": DUPLICATE_WINDOW_NS,
        "allow_direct": True,
        "allow_atomic": True,
        "deny_delete": True,
        "deny_purge": True,
        "no_ack": None,
        "sealed": None,
        "sources": None,
        "mirror": None,
        "republish": None,
        "subject_transform": None,
        "allow_rollup_hdrs": None,
        "allow_msg_ttl": None,
        "subject_delete_marker_ttl": None,
        "allow_msg_schedules": None,
        "allow_msg_counter": None,
        "persist_mode": None,
    }


@dataclass(frozen=True, slots=True)
class Difference:
    setting: str
    found: Any
    wanted: Any

    def __str__(self) -> str:
        return f"{self.setting} is {_shown(self.found)}, expected {_shown(self.wanted)}"

    @property
    def refusal(self) -> str | None:
        """Why provisioning must leave this to an operator, if it must."""
        if self.setting in IMMUTABLE_SETTINGS or (
            self.setting == "retention" and "workqueue" in (self.found, self.wanted)
        ):
            return f"{self} (the server cannot change it on an existing stream)"
        if self.setting == "num_replicas" and (self.found or 0) > self.wanted:
            return f"{self}: lowering replicas is left to an operator (JINGUO_STREAM_REPLICAS?)"
        return None


def _normal(setting: str, value: Any) -> Any:
    if value in (None, False, 0, "", [], {}) or (setting == "persist_mode" and value == "default"):
        return None
    return sorted(value) if setting == "subjects" else value


def _shown(value: Any) -> str:
    return "unset" if value is None else orjson.dumps(value).decode()


def differences(config: dict[str, Any], wanted: dict[str, Any]) -> list[Difference]:
    return [
        Difference(setting, found, value)
        for setting, value in wanted.items()
        if (found := _normal(setting, config.get(setting))) != value
    ]


class StreamApiError(RuntimeError):
    def __init__(self, code: int | None, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code


async def _stream_api(nc: NatsClient, subject: str, body: dict[str, Any] | None = None) -> Any:
    reply = await nc.request(subject, orjson.dumps(body) if body else b"", timeout=5)
    answer = orjson.loads(reply.data)
    error = answer.get("error")
    if error:
        raise StreamApiError(error.get("err_code"), error.get("description"))
    return answer


async def _create_stream(nc: NatsClient, body: dict[str, Any], placement_wait: float) -> None:
    """Create the stream, waiting while the cluster has too few peers for its replicas: a
    cluster that has just started elects its meta leader before every node has reported in."""
    deadline = time.monotonic() + placement_wait
    while True:
        try:
            await _stream_api(nc, f"$JS.API.STREAM.CREATE.{body['name']}", body)
            return
        except StreamApiError as error:
            if error.code != NO_SUITABLE_PEERS or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.25)


async def stream_config(nc: NatsClient, stream: str) -> dict[str, Any] | None:
    """The stream's configuration as the server holds it, or None if there is no such stream."""
    try:
        info = await _stream_api(nc, f"$JS.API.STREAM.INFO.{stream}")
    except StreamApiError as error:
        if str(error).startswith(f"{STREAM_NOT_FOUND}:"):
            return None
        raise
    config: dict[str, Any] = info["config"]
    return config


@dataclass(frozen=True, slots=True)
class Provisioned:
    stream: str
    outcome: Literal["created", "updated", "as it was", "refused"]
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.stream:<12} {self.outcome}" + (f": {self.detail}" if self.detail else "")


async def provision_streams(
    nc: NatsClient,
    specs: Sequence[StreamSpec],
    replicas: int,
    placement_wait: float = PLACEMENT_WAIT_SECONDS,
) -> list[Provisioned]:
    """Create the missing streams and bring the others to `stream_settings`, with an admin
    connection. A stream that could only be fixed by weakening it, or not in place, is left
    as it is and reported refused. A stream is created once enough nodes are up to hold its
    replicas, waiting `placement_wait` seconds for them."""
    done: list[Provisioned] = []
    for spec in specs:
        wanted = stream_settings(spec, replicas)
        config = await stream_config(nc, spec.name)
        if config is None:
            body = {"name": spec.name, **{k: v for k, v in wanted.items() if v is not None}}
            await _create_stream(nc, body, placement_wait)
            done.append(Provisioned(spec.name, "created"))
            continue
        found = differences(config, wanted)
        refusals = [why for difference in found if (why := difference.refusal)]
        if refusals:
            done.append(Provisioned(spec.name, "refused", "; ".join(refusals)))
        elif found:
            merged = {k: v for k, v in {**config, **wanted}.items() if v is not None}
            try:
                await _stream_api(nc, f"$JS.API.STREAM.UPDATE.{spec.name}", merged)
            except StreamApiError as error:
                done.append(Provisioned(spec.name, "refused", f"the server said {error}"))
                continue
            done.append(Provisioned(spec.name, "updated", "; ".join(map(str, found))))
        else:
            done.append(Provisioned(spec.name, "as it was"))
    return done


async def stream_problems(nc: NatsClient, streams: Sequence[str], replicas: int) -> list[str]:
    """What is wrong with these streams, one line each: missing, or not as provisioned."""
    problems = []
    for stream in streams:
        try:
            config = await stream_config(nc, stream)
        except TimeoutError:
            problems.append(f"{stream}: no answer to its info (may this NATS user read it?)")
            continue
        if config is None:
            problems.append(f"{stream}: missing")
            continue
        wanted = stream_settings(STREAMS_BY_NAME[stream], replicas)
        problems += [f"{stream}: {difference}" for difference in differences(config, wanted)]
    return problems


async def read_event(
    js: JetStreamContext, stream: str, seq: int, catalogue: ContractCatalogue = CATALOGUE
) -> RecordedEvent:
    """One event by its stream sequence (direct get), decoded and upcast."""
    message = await js.get_msg(stream, seq=seq, direct=True)
    assert message.data is not None
    assert message.subject is not None
    return decode(stream, seq, message.subject, message.data, catalogue)


def event_headers(event_id: str, traceparent: str | None) -> dict[str, str]:
    """The NATS headers an event is published with, whoever publishes it: its id, by which the
    server drops a second copy, and its creation context, which consumers read without
    decoding the event."""
    headers = {"Nats-Msg-Id": event_id}
    if traceparent:
        headers["traceparent"] = traceparent
    return headers


@dataclass(frozen=True, slots=True)
class AggregateWrite:
    """One aggregate's new events and the version they were decided on."""

    aggregate_type: str
    aggregate_id: str
    expected_seq: int | None
    """None: facts that decide nothing (a disclosure recorded) land whatever came before."""
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
        spans = []
        parent = command_trace(context.traceparent)
        index = 0
        for write in writes:
            first = len(messages)
            for event in write.events:
                subject = nats_subject(
                    self.service, write.aggregate_type, write.aggregate_id, event.event_type
                )
                span = start_publishing(
                    subject, event_id(context.command_id, index), context.correlation_id, parent
                )
                spans.append(span)
                traceparent = traceparent_of(span)
                envelope = make_envelope(
                    event,
                    write.aggregate_id,
                    index,
                    context,
                    seal_data(event, sealer),
                    source_service=self.service,
                    traceparent=traceparent,
                )
                index += 1
                headers = event_headers(envelope.id, envelope.traceparent)
                messages.append((subject, envelope.to_json(), headers))
            if write.expected_seq is not None:
                messages[first][2].update(
                    {
                        "Nats-Expected-Last-Subject-Sequence": str(write.expected_seq),
                        "Nats-Expected-Last-Subject-Sequence-Subject": self.aggregate_subjects(
                            write.aggregate_type, write.aggregate_id
                        ),
                    }
                )
        with publishing(spans):
            return await self._publish(writes, messages)

    async def _publish(
        self, writes: Sequence[AggregateWrite], messages: list[tuple[str, bytes, dict[str, str]]]
    ) -> list[int]:
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
