"""Every read says what it returns: each GET operation of the four services' OpenAPI documents,
as `jinguo up` serves them to a partner, answers with a typed schema, never a free-form object.
Whether the models match what the queries really return is proven by every test that reads
(the e2e journeys, tests/security, each service's integration tests): a read model refuses a
field it does not name, so a mismatch is a failed response, not a silently dropped field."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from jinguo_shared.http.conventions import Page, ReadModel, page
from jinguo_shared.ports import free_port
from jinguo_shared.testing import start_up

SERVICES = ("registry", "employment", "orders", "rights")
FREE_FORM_ALLOWED: dict[str, str] = {
    "GET /registry/sheets/{area_code}/{period}.{extension}": "a file (XLSX or CSV), not JSON;"
    " the same sheet as JSON is typed at GET /registry/sheets/{area_code}/{period}",
}
"""`METHOD path` of a read deliberately answering something other than a typed JSON object, with
the reason.
(Nested free-form values are described where they are: an order's history `detail` holds the
fields of whichever event it records, as that event's published contract defines them.)"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data = tmp_path_factory.mktemp("typed-reads")
    port = free_port()
    process = start_up(data, port, data / "jinguo-up.log")
    key = (data / "dev-api-key").read_text().strip()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    try:
        yield client
    finally:
        client.close()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def untyped(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A schema that says nothing of the fields: `{}`, an object without properties (a
    free-form dict), or a list or page of those."""
    schema = resolve(document, schema)
    if schema.get("type") == "array":
        return untyped(document, schema.get("items", {}))
    if schema and schema.get("type") != "object":
        return False
    properties = schema.get("properties")
    if not properties:
        values = schema.get("additionalProperties", True)
        return not isinstance(values, dict) or untyped(document, values)
    if set(properties) == {"items", "next_cursor"}:
        return untyped(document, properties["items"])
    return False


def reads(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each GET operation's 200 answer schema (JSON, or a JSON media type such as the feed's
    application/cloudevents-batch+json), by `GET path`."""
    return {
        f"GET {path}": next(
            (
                content.get("schema", {})
                for media_type, content in operations["get"]["responses"]["200"]
                .get("content", {})
                .items()
                if media_type == "application/json" or media_type.endswith("+json")
            ),
            {},
        )
        for path, operations in document["paths"].items()
        if "get" in operations
    }


def test_every_read_of_every_service_answers_a_typed_schema(up: httpx.Client) -> None:
    found: dict[str, bool] = {}
    for service in SERVICES:
        answer = up.get(f"/{service}/openapi.json")
        assert answer.status_code == 200
        document = answer.json()
        for read, schema in reads(document).items():
            found[f"{read.replace('GET ', f'GET /{service}')}"] = untyped(document, schema)
    assert len(found) >= 41
    free_form = sorted(read for read, loose in found.items() if loose)
    assert free_form == sorted(FREE_FORM_ALLOWED), "reads without a typed answer:\n" + "\n".join(
        free_form
    )


def test_the_walk_tells_a_typed_answer_from_a_free_form_one() -> None:
    free = {"type": "object", "additionalProperties": True}
    typed = {"type": "object", "properties": {"id": {"type": "string"}}}
    document = {"components": {"schemas": {"Free": free, "Typed": typed}}}
    page_of = {"type": "object", "properties": {"items": {"type": "array"}, "next_cursor": {}}}

    assert untyped(document, {})
    assert untyped(document, free)
    assert untyped(document, {"$ref": "#/components/schemas/Free"})
    assert untyped(document, {"type": "array", "items": free})
    assert untyped(document, page_of)
    assert untyped(document, {"type": "object", "additionalProperties": free})
    assert not untyped(document, {"$ref": "#/components/schemas/Typed"})
    assert not untyped(document, {"type": "array", "items": typed})
    assert not untyped(document, {"type": "object", "additionalProperties": {"type": "integer"}})
    page_of["properties"]["items"] = {"type": "array", "items": typed}
    assert not untyped(document, page_of)


class Listed(ReadModel):
    id: str
    count: int


def test_a_read_model_refuses_a_field_it_does_not_name_rather_than_dropping_it() -> None:
    with pytest.raises(ValidationError, match="national_id"):
        Listed.model_validate({"id": "a", "count": 1, "national_id": "110101197501010002"})
    with pytest.raises(ValidationError, match="count"):
        page(Page[Listed], [{"id": "a", "count": "many"}], 1, lambda row: [row["id"]])
    full = page(Page[Listed], [{"id": "a", "count": 1}], 1, lambda row: [row["id"]])
    assert (full.items, full.next_cursor is not None) == ([Listed(id="a", count=1)], True)
    assert page(Page[Listed], [], 1, lambda row: [row["id"]]).next_cursor is None


def test_a_rights_report_speaks_of_small_counts_only_when_its_figures_are_shared(
    up: httpx.Client,
) -> None:
    agency_id = up.get("/registry/agencies").json()[0]["agency_id"]
    own = up.get("/rights/reports", params={"agency_id": agency_id})
    shared = up.get("/rights/reports")
    assert (own.status_code, shared.status_code) == (200, 200), own.text + shared.text
    assert "small_counts" not in own.json()
    assert (own.json()["from"], own.json()["agency_id"]) == (None, agency_id)
    assert "small_counts" in shared.json()
