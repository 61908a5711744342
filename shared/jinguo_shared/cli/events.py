"""`jinguo events`: look at the log (follow a subject, one aggregate's history) and carry a
stream to a file and back."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

import nats.js.errors
import orjson
import typer
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from jinguo_contracts.base import CATALOGUE
from jinguo_shared.cli.environment import (
    UsageError,
    nats_url,
    run,
    settings,
    stream_of,
    unusable_file,
)
from jinguo_shared.cli.progress import progress_bars
from jinguo_shared.eventstore import SERVICE_STREAMS, event_headers
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.natsauth import ADMIN_USER

events = typer.Typer(help="look at the log")


@contextlib.asynccontextmanager
async def _log() -> AsyncIterator[JetStreamContext]:
    """JetStream as the admin NATS user, who may read and write every stream."""
    current = settings()
    async with nats_url(current) as url:
        nc = await connect_nats(current, url, "jinguo-events", user=ADMIN_USER)
        try:
            yield nc.jetstream()
        finally:
            await nc.close()


def _token(kind: str, text: str) -> str:
    """One token of a subject, as a user typed it: no wildcard, no separator."""
    if not text or any(c in text for c in ".*> \t"):
        raise UsageError(f"{kind} {text!r}: one word, without '.', '*', '>' or spaces")
    return text


@events.command()
def tail(
    subject: str = typer.Argument(..., help="e.g. registry.worker.>"),
    every: bool = typer.Option(False, "--all", help="from the start, not only new ones"),
) -> None:
    """follow a subject, e.g. registry.worker.>"""
    run(_tail(subject, every))


async def _tail(subject: str, every: bool) -> None:
    prefix, _, rest = subject.partition(".")
    stream = stream_of(prefix)
    tokens = rest.split(".") if rest else []
    if not tokens or any(
        not t or (">" in t and t != ">") or ("*" in t and t != "*") for t in tokens
    ):
        raise UsageError(
            f"subject {subject!r}: e.g. {prefix}.worker.> or {prefix}.*.*.WorkerRegistered"
        )
    async with _log() as js:
        subscription = await js.subscribe(
            subject,
            stream=stream,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL if every else DeliverPolicy.NEW,
        )
        async for message in subscription.messages:
            sequence = message.metadata.sequence.stream
            print(_line(stream, sequence, message.subject, message.data), flush=True)


@events.command()
def history(
    service: str, aggregate: str, aggregate_id: str = typer.Argument(..., metavar="id")
) -> None:
    """one aggregate's events"""
    run(_history(service, _token("aggregate", aggregate), _token("id", aggregate_id)))


async def _history(service: str, aggregate: str, aggregate_id: str) -> None:
    stream = stream_of(service)
    async with _log() as js:
        found = 0
        async for sequence, subject, data in _stored(
            js, stream, f"{service}.{aggregate}.{aggregate_id}.*"
        ):
            print(_line(stream, sequence, subject, data))
            found += 1
        if found:
            return
        async for _ in _stored(js, stream, f"{service}.{aggregate}.>"):
            raise UsageError(f"{service} has no {aggregate} {aggregate_id!r} in its log")
        raise UsageError(f"{service}'s log has no aggregate {aggregate!r}")


async def _stored(
    js: JetStreamContext, stream: str, subject: str
) -> AsyncIterator[tuple[int, str, bytes]]:
    """Every stored message on `subject`, in order: (sequence, subject, data)."""
    seq = 1
    while True:
        try:
            stored = await js.get_msg(stream, seq=seq, subject=subject, direct=True, next=True)
        except nats.js.errors.NotFoundError:
            return
        assert stored.seq is not None
        assert stored.data is not None
        yield stored.seq, stored.subject or "", stored.data
        seq = stored.seq + 1


@events.command()
def export(
    service: str = typer.Argument(..., help=f"one of: {', '.join(SERVICE_STREAMS)}"),
    file: Path = typer.Argument(...),
) -> None:
    """a service's stream to NDJSON"""
    run(_export(stream_of(service), file))


async def _export(stream: str, path: Path) -> None:
    try:
        output = path.open("w")
    except OSError as error:
        raise unusable_file(error) from None
    async with _log() as js:
        with output:
            total = (await js.stream_info(stream)).state.messages
            if total == 0:
                print(f"{stream} is empty")
                return
            done = await _write_stream(js, stream, total, output)
    print(f"exported {done:,} events from {stream} to {path}")


async def _write_stream(js: JetStreamContext, stream: str, total: int, output: TextIO) -> int:
    subscription = await js.subscribe(
        f"{stream.lower()}.>",
        stream=stream,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
    )
    done = 0
    with progress_bars("events") as report:
        async for message in subscription.messages:
            sequence = message.metadata.sequence.stream
            output.write(_line(stream, sequence, message.subject, message.data) + "\n")
            done += 1
            last = message.metadata.num_pending == 0
            if done % 5000 == 0 or last:
                report(f"export {stream}", done, total)
            if last:
                break
    await subscription.unsubscribe()
    return done


@events.command(name="import")
def import_(file: Path) -> None:
    """NDJSON from `export` back into the log"""
    run(_import(file))


async def _import(path: Path) -> None:
    """Publish exported events again, skipping every event whose id a stream already holds
    (however old: the server's duplicate window covers two minutes only). The envelope is kept
    byte for byte, with the headers its append gave it."""
    records = _exported(path)
    async with _log() as js:
        present: dict[str, set[str]] = {}
        for stream in dict.fromkeys(stream for stream, _, _ in records):
            present[stream] = await _event_ids(js, stream)
        imported = skipped = 0
        for stream, subject, event in records:
            if event["id"] in present[stream]:
                skipped += 1
                continue
            headers = event_headers(event["id"], event.get("traceparent"))
            ack = await js.publish(subject, orjson.dumps(event), stream=stream, headers=headers)
            present[stream].add(event["id"])
            if ack.duplicate:
                skipped += 1
            else:
                imported += 1
    print(f"imported {imported:,} events, skipped {skipped:,} already present, from {path}")


def _exported(path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """The file's events, each with its stream and subject; a readable error at the first line
    `export` did not write."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise unusable_file(error) from None
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{path}: not an export of `jinguo events export` ({error.reason})"
        ) from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            subject, event = record["subject"], record["event"]
            if not CATALOGUE.knows(event["type"]):
                raise ValueError(f"unknown event type {event['type']!r}")
            stream = SERVICE_STREAMS[subject.split(".", 1)[0]].name
            if not isinstance(event["id"], str) or not event["id"]:
                raise ValueError("an event needs its id")
            if not isinstance(event.get("traceparent") or "", str):
                raise ValueError("an event's traceparent is text")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise UsageError(f"{path}:{number}: not an exported event ({error})") from None
        records.append((stream, subject, event))
    return records


async def _event_ids(js: JetStreamContext, stream: str) -> set[str]:
    """The id of every event in the stream, read from the headers alone."""
    info = await js.stream_info(stream)
    if info.state.messages == 0:
        return set()
    [spec] = [spec for spec in SERVICE_STREAMS.values() if spec.name == stream]
    subscription = await js.subscribe(
        spec.subjects[0],
        stream=stream,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL,
        headers_only=True,
    )
    ids: set[str] = set()
    try:
        async for message in subscription.messages:
            event_id = (message.headers or {}).get("Nats-Msg-Id")
            if event_id:
                ids.add(event_id)
            if message.metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()
    return ids


def _line(stream: str, seq: int, subject: str, data: bytes) -> str:
    return orjson.dumps(
        {"stream": stream, "seq": seq, "subject": subject, "event": orjson.loads(data)}
    ).decode()
