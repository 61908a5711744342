"""The AsyncAPI 3.0 document: every event version a channel on its stream, the confidential one
marked internal, and real events, enveloped as the event store writes them, valid against it;
each service's feed a GET on the HTTP API whose batch holds the events it publishes, personal
fields or not, and the webhook delivery one such event."""

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
from jinguo_shared.asyncapi import WEBHOOK_MESSAGE, asyncapi_document, channel_name, publishers
from jinguo_shared.cli.serving import compose_app
from jinguo_shared.envelope import CommandContext, make_envelope, seal_data
from jinguo_shared.eventstore import SERVICE_STREAMS
from jinguo_shared.feed import cloudevent_type, published_contracts
from jinguo_shared.published import unconnected_runtime
from jinguo_shared.services import discover_services

SERVICES = discover_services()  # importing the services fills the catalogue
FEEDS = {d.name: d.feed for d in SERVICES}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(CATALOGUE, FEEDS)


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
    feeds = {f"{service}.feed" for service in FEEDS}
    assert set(document["channels"]) - feeds == {channel_name(s, c) for s, c in published}
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
    assert {n: (s["protocol"], s["host"]) for n, s in document["servers"].items()} == {
        "production": ("nats", "nats.jinguo.svc:4222"),
        "development": ("nats", "127.0.0.1:4250"),
        "api-production": ("https", "{host}"),
        "api-development": ("http", "127.0.0.1:8000"),
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


def batch_validator(document: dict[str, Any], service: str) -> Any:
    channel = document["channels"][f"{service}.feed"]
    message = resolve(document, channel["messages"]["Batch"]["$ref"])
    return Draft202012Validator({**message["payload"], "components": document["components"]})


def as_the_feed_shows(event: EventContract, aggregate_id: str, seq: int) -> dict[str, Any]:
    contract = type(event)
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "http://127.0.0.1:8000/registry",
        "type": cloudevent_type(contract),
        "subject": f"{contract.aggregate}/{aggregate_id}",
        "time": "2026-11-02T09:00:00+00:00",
        "datacontenttype": "application/json",
        "dataschema": contract.schema_id(),
        "jinguoposition": f"REGISTRY:{seq}",
        "data": event.model_dump(mode="json"),
    }


def test_each_feed_is_a_get_on_the_api_of_the_types_it_publishes(
    document: dict[str, Any],
) -> None:
    for service, declaration in FEEDS.items():
        channel = document["channels"][f"{service}.feed"]
        assert channel["address"] == f"/{service}/feed"
        assert [s["$ref"] for s in channel["servers"]] == [
            "#/servers/api-production",
            "#/servers/api-development",
        ]
        operation = document["operations"][f"{service}.feed"]
        assert operation["bindings"]["http"]["method"] == "GET"
        message = resolve(document, channel["messages"]["Batch"]["$ref"])
        assert message["contentType"] == "application/cloudevents-batch+json"
        assert "Jinguo-Next-Position" in message["headers"]["required"]
        types = {
            resolve(document, ref["$ref"])["properties"]["type"]["const"]
            for ref in message["payload"]["items"]["oneOf"]
        }
        assert types == {cloudevent_type(c) for c in published_contracts(declaration).values()}
    registry = batch_validator(document, "registry").schema["items"]["oneOf"]
    assert not any("ApiClient" in ref["$ref"] for ref in registry)
    rights = document["channels"]["rights.feed"]
    assert rights["x-stream"] == "INSPECTIONS"
    assert all(
        "Case" not in ref["$ref"]
        for ref in batch_validator(document, "rights").schema["items"]["oneOf"]
    )


def test_a_feed_event_is_valid_with_or_without_the_personal_fields_granted(
    document: dict[str, Any],
) -> None:
    worker_id = str(uuid.uuid4())
    registered, assessed = registered_worker(worker_id, area="110101", priority=True)
    validator = batch_validator(document, "registry")
    granted = as_the_feed_shows(registered, worker_id, 7)
    withheld = as_the_feed_shows(registered, worker_id, 7)
    for field in type(registered).pii_fields():
        del withheld["data"][field]
    assert {"name", "phone"} <= set(granted["data"]) - set(withheld["data"])
    errors = list(
        validator.iter_errors([granted, withheld, as_the_feed_shows(assessed, worker_id, 8)])
    )
    assert errors == []


def test_a_feed_event_of_another_version_or_with_more_is_not_valid(
    document: dict[str, Any],
) -> None:
    worker_id = str(uuid.uuid4())
    registered, _ = registered_worker(worker_id, area="110101", priority=True)
    validator = batch_validator(document, "registry")
    other_version = as_the_feed_shows(registered, worker_id, 7)
    other_version["type"] = "org.jinguo.registry.WorkerRegistered.v2"
    smuggled = as_the_feed_shows(registered, worker_id, 7)
    smuggled["data"]["password"] = "hunter2"
    bad_position = as_the_feed_shows(registered, worker_id, 7)
    bad_position["jinguoposition"] = "REGISTRY:-1"
    without_area = as_the_feed_shows(registered, worker_id, 7)
    del without_area["data"]["area_code"]
    envelope = enveloped(registered, worker_id)  # the bus's envelope is not the feed's
    for event in (other_version, smuggled, bad_position, without_area, envelope):
        assert not validator.is_valid([event])
    assert not validator.is_valid(as_the_feed_shows(registered, worker_id, 7))


def test_a_webhook_delivery_is_one_feed_event_with_standard_webhooks_headers(
    document: dict[str, Any],
) -> None:
    message = document["components"]["messages"][WEBHOOK_MESSAGE]
    assert message["headers"]["required"] == [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ]
    every_feed_event = [
        ref
        for service in FEEDS
        for ref in batch_validator(document, service).schema["items"]["oneOf"]
    ]
    assert message["payload"]["oneOf"] == every_feed_event
    worker_id = str(uuid.uuid4())
    registered, _ = registered_worker(worker_id, area="110101", priority=True)
    single = Draft202012Validator({**message["payload"], "components": document["components"]})
    assert single.is_valid(as_the_feed_shows(registered, worker_id, 7))
    assert not single.is_valid([as_the_feed_shows(registered, worker_id, 7)])
