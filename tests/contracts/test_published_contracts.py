"""The committed contracts (contracts/published) are what the code publishes, and the code never
changes them incompatibly; the checker itself on hand-made before/after pairs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from jinguo_shared.cli.app import main
from jinguo_shared.compatibility import incompatibilities
from jinguo_shared.published import (
    Documents,
    as_text,
    published_documents,
    read_documents,
    write_documents,
)

PUBLISHED = Path(__file__).resolve().parents[2] / "contracts" / "published"
REGENERATE = "run `make contracts` (or `jinguo contracts contracts/published`)"


@pytest.fixture(scope="module")
async def generated() -> Documents:
    return await published_documents()


def test_the_code_changes_no_published_contract_incompatibly(generated: Documents) -> None:
    broken = incompatibilities(read_documents(PUBLISHED), generated)
    assert not broken, (
        "incompatible: " + "; ".join(broken) + ". Publish a new version (an event's V2 with its"
        f" upcaster, a new endpoint) instead, or, if no client depends on it yet, {REGENERATE}"
    )


def test_the_committed_contracts_are_what_the_code_generates(generated: Documents) -> None:
    committed = read_documents(PUBLISHED)
    drifted = sorted(
        name
        for name in committed.keys() | generated.keys()
        if name not in committed
        or name not in generated
        or as_text(committed[name]) != as_text(generated[name])
    )
    assert not drifted, f"the published contracts differ from the code: {REGENERATE}: {drifted}"


def test_jinguo_contracts_writes_them_all_and_removes_what_is_gone(
    tmp_path: Path, generated: Documents
) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "registry.Removed.v1.json").write_text("{}")
    (tmp_path / "notes.md").write_text("ours")
    assert main(["contracts", str(tmp_path)]) == 0
    assert read_documents(tmp_path) == generated
    assert (tmp_path / "notes.md").read_text() == "ours"
    assert {p.name for p in (tmp_path / "openapi").iterdir()} == {
        "registry.json",
        "employment.json",
        "orders.json",
        "rights.json",
    }


def test_jinguo_contracts_into_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    occupied = tmp_path / "occupied"
    occupied.write_text("a file, not a directory")
    assert main(["contracts", str(occupied)]) == 2
    assert str(occupied) in capsys.readouterr().err


# the checker ----------------------------------------------------------------------------------

EVENT_V1: dict[str, Any] = {
    "$id": "urn:jinguo:registry:WorkerRegistered:v1",
    "type": "object",
    "properties": {
        "worker_id": {"type": "string"},
        "hukou": {"enum": ["local", "migrant"], "type": "string"},
        "phone": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "desired_work": {"$ref": "#/$defs/DesiredWork"},
    },
    "required": ["worker_id", "hukou", "desired_work"],
    "$defs": {
        "DesiredWork": {
            "type": "object",
            "properties": {"hours": {"type": "integer"}},
            "required": ["hours"],
        }
    },
}
EVENT = "schemas/registry.WorkerRegistered.v1.json"


def changed_event(change: Any) -> list[str]:
    after = copy.deepcopy(EVENT_V1)
    change(after)
    return incompatibilities({EVENT: EVENT_V1}, {EVENT: after})


def test_an_event_field_removed_is_incompatible() -> None:
    def remove(schema: dict[str, Any]) -> None:
        del schema["properties"]["hukou"]
        schema["required"].remove("hukou")

    assert changed_event(remove) == [f"{EVENT}: field hukou removed"]


def test_an_event_field_retyped_is_incompatible_even_when_wider() -> None:
    def retype(schema: dict[str, Any]) -> None:
        schema["properties"]["worker_id"] = {"type": "integer"}

    def widen(schema: dict[str, Any]) -> None:
        schema["properties"]["hukou"]["enum"].append("foreign")

    def nested(schema: dict[str, Any]) -> None:
        schema["$defs"]["DesiredWork"]["properties"]["hours"] = {"type": "string"}

    assert changed_event(retype) == [f"{EVENT}.worker_id: type changed from string to integer"]
    assert changed_event(widen) == [
        f"{EVENT}.hukou: value changed from 'local', 'migrant' to 'foreign', 'local', 'migrant'"
    ]
    assert changed_event(nested) == [
        f"{EVENT}.desired_work.hours: type changed from integer to string"
    ]


def test_an_event_field_required_or_no_longer_required_is_incompatible() -> None:
    def optional(schema: dict[str, Any]) -> None:
        schema["required"].remove("hukou")

    def required(schema: dict[str, Any]) -> None:
        schema["required"].append("phone")

    assert changed_event(optional) == [f"{EVENT}.hukou: no longer required"]
    assert changed_event(required) == [f"{EVENT}.phone: now required"]


def test_an_optional_field_added_to_an_event_is_compatible_a_required_one_is_not() -> None:
    def optional(schema: dict[str, Any]) -> None:
        schema["properties"]["email"] = {"type": "string", "default": ""}

    def required(schema: dict[str, Any]) -> None:
        optional(schema)
        schema["required"].append("email")

    assert changed_event(optional) == []
    assert changed_event(required) == [f"{EVENT}.email: new and required"]


def test_a_new_event_version_is_compatible_a_removed_one_is_not() -> None:
    v2 = {**copy.deepcopy(EVENT_V1), "$id": "urn:jinguo:registry:WorkerRegistered:v2"}
    del v2["properties"]["hukou"]
    v2["required"] = ["worker_id", "desired_work"]
    v2_file = "schemas/registry.WorkerRegistered.v2.json"
    assert incompatibilities({EVENT: EVENT_V1}, {EVENT: EVENT_V1, v2_file: v2}) == []
    assert incompatibilities({EVENT: EVENT_V1, v2_file: v2}, {v2_file: v2}) == [
        "urn:jinguo:registry:WorkerRegistered:v1: event version removed"
    ]


def test_a_removed_channel_is_incompatible() -> None:
    before = {"asyncapi.json": {"channels": {"registry.WorkerRegistered.v1": {}}}}
    assert incompatibilities(before, {"asyncapi.json": {"channels": {}}}) == [
        "asyncapi.json: channel registry.WorkerRegistered.v1 removed"
    ]
    assert incompatibilities(before, copy.deepcopy(before)) == []


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/workers/{worker_id}": {
            "parameters": [],
            "get": {
                "parameters": [
                    {"in": "path", "name": "worker_id", "required": True, "schema": {}},
                    {"in": "query", "name": "after", "required": False, "schema": {}},
                ],
                "responses": {
                    "200": json_content({"$ref": "#/components/schemas/Worker"}),
                    "404": json_content({"$ref": "#/components/schemas/Problem"}),
                },
            },
        },
        "/workers": {
            "post": {
                "requestBody": {
                    "required": True,
                    **json_content({"$ref": "#/components/schemas/RegisterWorker"}),
                },
                "responses": {"201": json_content({"type": "object"})},
            }
        },
    },
    "components": {
        "schemas": {
            "Worker": {
                "type": "object",
                "properties": {
                    "worker_id": {"type": "string"},
                    "skills": {"type": "array", "items": {"type": "string"}},
                    "employer": {
                        "anyOf": [{"$ref": "#/components/schemas/Employer"}, {"type": "null"}]
                    },
                    "extra": {"type": "object", "additionalProperties": True},
                },
                "required": ["worker_id", "skills"],
            },
            "Employer": {"type": "object", "properties": {"name": {"type": "string"}}},
            "RegisterWorker": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 50},
                    "hukou": {"enum": ["local", "migrant"], "type": "string"},
                    "note": {"type": "string", "default": ""},
                },
                "required": ["name", "hukou"],
            },
            "Problem": {"type": "object", "properties": {"title": {"type": "string"}}},
        }
    },
}
API = "openapi/registry.json"
GET = f"{API} GET /workers/{{worker_id}}"
POST = f"{API} POST /workers"


def changed_api(change: Any) -> list[str]:
    after = copy.deepcopy(OPENAPI)
    change(after)
    return incompatibilities({API: OPENAPI}, {API: after})


def schemas_of(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def test_a_removed_endpoint_is_incompatible_an_added_one_is_not() -> None:
    def remove(document: dict[str, Any]) -> None:
        del document["paths"]["/workers"]

    def add(document: dict[str, Any]) -> None:
        document["paths"]["/feed"] = {"get": {"responses": {"200": json_content({})}}}

    assert changed_api(remove) == [f"{POST}: operation removed"]
    assert changed_api(add) == []


def test_a_removed_response_field_is_incompatible_also_inside_a_nullable_model() -> None:
    def remove(document: dict[str, Any]) -> None:
        del schemas_of(document)["Worker"]["properties"]["skills"]

    def nested(document: dict[str, Any]) -> None:
        del schemas_of(document)["Employer"]["properties"]["name"]

    assert changed_api(remove) == [f"{GET} 200: field skills removed"]
    assert changed_api(nested) == [f"{GET} 200.employer: field name removed"]


def test_a_response_may_gain_fields_and_become_typed_but_not_lose_a_guarantee() -> None:
    def typed(document: dict[str, Any]) -> None:
        schemas_of(document)["Worker"]["properties"]["extra"] = {
            "$ref": "#/components/schemas/Employer"
        }
        schemas_of(document)["Worker"]["properties"]["since"] = {"type": "string"}
        document["paths"]["/workers"]["post"]["responses"]["201"] = json_content(
            {"type": "object", "properties": {"id": {"type": "string"}}}
        )

    def nullable(document: dict[str, Any]) -> None:
        schemas_of(document)["Worker"]["properties"]["worker_id"] = {"type": ["string", "null"]}

    def optional(document: dict[str, Any]) -> None:
        schemas_of(document)["Worker"]["required"] = ["worker_id"]

    assert changed_api(typed) == []
    assert changed_api(nullable) == [f"{GET} 200.worker_id: type widened, may now be null"]
    assert changed_api(optional) == [f"{GET} 200.skills: no longer required"]


def test_a_removed_success_response_is_incompatible_a_removed_error_is_not() -> None:
    def created(document: dict[str, Any]) -> None:
        responses = document["paths"]["/workers"]["post"]["responses"]
        responses["200"] = responses.pop("201")

    def error(document: dict[str, Any]) -> None:
        del document["paths"]["/workers/{worker_id}"]["get"]["responses"]["404"]

    assert changed_api(created) == [f"{POST} 201 response removed"]
    assert changed_api(error) == []


def test_a_newly_required_request_field_or_parameter_is_incompatible() -> None:
    def body(document: dict[str, Any]) -> None:
        schemas_of(document)["RegisterWorker"]["required"].append("note")

    def new_field(document: dict[str, Any]) -> None:
        register = schemas_of(document)["RegisterWorker"]
        register["properties"]["email"] = {"type": "string"}
        register["required"].append("email")

    def parameter(document: dict[str, Any]) -> None:
        document["paths"]["/workers/{worker_id}"]["get"]["parameters"].append(
            {"in": "query", "name": "purpose", "required": True, "schema": {"type": "string"}}
        )

    assert changed_api(body) == [f"{POST} request body.note: now required"]
    assert changed_api(new_field) == [f"{POST} request body.email: new and required"]
    assert changed_api(parameter) == [f"{GET} query parameter purpose: new and required"]


def test_a_narrowed_request_type_is_incompatible_a_wider_one_is_not() -> None:
    def fewer_values(document: dict[str, Any]) -> None:
        schemas_of(document)["RegisterWorker"]["properties"]["hukou"]["enum"] = ["local"]

    def shorter(document: dict[str, Any]) -> None:
        schemas_of(document)["RegisterWorker"]["properties"]["name"]["maxLength"] = 20

    def constrained(document: dict[str, Any]) -> None:
        parameters = document["paths"]["/workers/{worker_id}"]["get"]["parameters"]
        parameters[1]["schema"] = {"type": "string", "pattern": "^[A-Z]+:[0-9]+$"}

    def wider(document: dict[str, Any]) -> None:
        register = schemas_of(document)["RegisterWorker"]["properties"]
        register["hukou"]["enum"].append("foreign")
        register["name"]["maxLength"] = 100
        register["nickname"] = {"type": "string", "default": ""}

    assert changed_api(fewer_values) == [
        f"{POST} request body.hukou: value narrowed, 'migrant' no longer taken"
    ]
    assert changed_api(shorter) == [f"{POST} request body.name: maxLength narrowed from 50 to 20"]
    assert changed_api(constrained) == [f"{GET} query parameter after: now constrained"]
    assert changed_api(wider) == []


def test_a_recursive_model_is_compared_once() -> None:
    def recursive(document: dict[str, Any]) -> None:
        schemas_of(document)["Employer"]["properties"]["parent"] = {
            "$ref": "#/components/schemas/Employer"
        }

    before = copy.deepcopy(OPENAPI)
    recursive(before)
    after = copy.deepcopy(before)
    assert incompatibilities({API: before}, {API: after}) == []


def test_the_checker_finds_nothing_between_equal_generated_documents(
    generated: Documents,
) -> None:
    assert incompatibilities(generated, copy.deepcopy(generated)) == []


def test_write_then_read_gives_the_documents_back(tmp_path: Path, generated: Documents) -> None:
    write_documents(tmp_path, generated)
    assert read_documents(tmp_path) == generated
