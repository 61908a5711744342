"""The AsyncAPI 3.0 document: every event version a channel on its stream, the confidential one
marked internal, and real events, enveloped as the event store writes them, valid against it."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator

from jinguo_contracts.access import PersonalDataDisclosedV1
from jinguo_contracts.base import CATALOGUE, EventContract
from jinguo_contracts.examples import registered_worker
from jinguo_shared.asyncapi import asyncapi_document, channel_name, publishers
from jinguo_shared.cli.serving import compose_app
from jinguo_shared.envelope import CommandContext, make_envelope, seal_data
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.published import unconnected_runtime
from jinguo_shared.services import discover_services

SERVICES = discover_services()  # importing the services fills the catalogue


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(CATALOGUE)


def enveloped(event: EventContract, aggregate_id: str) -> dict[str, Any]:
    context = CommandContext(command_id=str(uuid.uuid4()), correlation_id="c", actor="test")
    envelope = make_envelope(event, aggregate_id, 0, context, seal_data(event, None))
    body: dict[str, Any] = orjson.loads(envelope.to_json())
    return body


def message_validator(document: dict[str, Any], contract: type[EventContract]) -> Any:
    service, _ = publishers(contract)[0]
    channel = document["channels"][channel_name(service, contract)]
    message = channel["messages"]["Message"]["$ref"]
    payload = resolve(document, message)["payload"]
    return Draft202012Validator({**payload, "components": document["components"]})


def resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("%7B", "{").replace("%7D", "}")]
    assert isinstance(target, dict)
    return target


def test_every_event_version_is_a_channel_on_its_stream(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    contracts = CATALOGUE.contracts()
    assert [d.name for d in SERVICES] == ["registry", "employment", "orders", "rights"]
    published = [(service, c) for c in contracts for service, _ in publishers(c)]
    assert set(document["channels"]) == {channel_name(s, c) for s, c in published}
    assert set(document["operations"]) == set(document["channels"])
    for service, contract in published:
        channel = document["channels"][channel_name(service, contract)]
        assert channel["address"] == f"{service}.{contract.aggregate}.{{id}}.{contract.event_type}"
        assert set(re.findall(r"{(\w+)}", channel["address"])) == set(channel["parameters"])
        assert channel["x-stream"] == SERVICE_STREAMS[service].name
        assert document["operations"][channel_name(service, contract)]["action"] == "send"


def test_a_kernel_contract_is_a_channel_on_every_service_s_own_stream(
    document: dict[str, Any],
) -> None:
    streams = {
        document["channels"][channel_name(service, PersonalDataDisclosedV1)]["x-stream"]
        for service, _ in publishers(PersonalDataDisclosedV1)
    }
    assert streams == {"REGISTRY", "EMPLOYMENT", "ORDERS", "RIGHTS"}


def test_only_the_confidential_stream_is_internal(document: dict[str, Any]) -> None:
    internal = {c["x-stream"] for c in document["channels"].values() if c["x-internal"]}
    public = {c["x-stream"] for c in document["channels"].values() if not c["x-internal"]}
    assert internal == {"RIGHTS"}
    assert public == {"REGISTRY", "EMPLOYMENT", "ORDERS", "INSPECTIONS"}
    assert "Internal" in document["channels"]["rights.CaseOpened.v1"]["description"]


def test_the_servers_are_production_and_development(document: dict[str, Any]) -> None:
    assert {n: s["host"] for n, s in document["servers"].items()} == {
        "production": "nats.jinguo.svc:4222",
        "development": "127.0.0.1:4250",
    }
    for channel in document["channels"].values():
        for server in channel["servers"]:
            resolve(document, server["$ref"])


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = re.findall(r'"\$ref":"([^"]+)"', orjson.dumps(document).decode())
    assert refs
    for ref in set(refs):
        resolve(document, ref)


def test_a_real_event_in_its_envelope_is_a_valid_message(document: dict[str, Any]) -> None:
    worker_id = str(uuid.uuid4())
    for event in registered_worker(worker_id, area="110101", skills=["elder care"], priority=True):
        errors = list(
            message_validator(document, type(event)).iter_errors(enveloped(event, worker_id))
        )
        assert errors == [], f"{event.event_type}: {errors}"


def test_a_message_of_another_event_or_version_is_not_valid(document: dict[str, Any]) -> None:
    worker_id = str(uuid.uuid4())
    registered, assessed = registered_worker(worker_id, area="110101", priority=True)
    validator = message_validator(document, type(registered))
    assert not validator.is_valid(enveloped(assessed, worker_id))
    wrong_version = {**enveloped(registered, worker_id), "schemaversion": 2}
    assert not validator.is_valid(wrong_version)
    smuggled = enveloped(registered, worker_id)
    smuggled["data"]["password"] = "hunter2"
    assert not validator.is_valid(smuggled)
    without_data = enveloped(registered, worker_id)
    del without_data["data"]
    assert not validator.is_valid(without_data)


async def test_the_composed_app_serves_it_beside_the_services(document: dict[str, Any]) -> None:
    pairs = [(d, unconnected_runtime(d)) for d in SERVICES]
    app = compose_app(pairs)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://jinguo") as client:
        answer = await client.get("/asyncapi")
        index = (await client.get("/")).json()
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == orjson.loads(orjson.dumps(document))
    assert index["events"] == "/asyncapi"
    for _, runtime in pairs:
        await runtime.engine.dispose()
