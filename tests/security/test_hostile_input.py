"""Oversized and malformed input on every write endpoint of every service, as a hostile
client sends it to `jinguo up`: never a 500, never anything recorded, always a problem.

The endpoints come from each service's own OpenAPI document, so a new endpoint is attacked
the day it is added; and every string and list a request may carry must declare a maximum
there (a field without one once let a request produce an event over NATS's 1 MB limit)."""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from jinguo_shared.ports import free_port
from jinguo_shared.testing import start_up

SERVICES = ("registry", "employment", "orders", "rights")
WRITES = ("post", "put", "patch")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    data = tmp_path_factory.mktemp("hostile")
    port = free_port()
    process = start_up(data, port, data / "jinguo-up.log")
    key = (data / "dev-api-key").read_text().strip()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    try:
        yield client, data / "jinguo-up.log"
    finally:
        client.close()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def openapi(client: httpx.Client, service: str) -> dict[str, Any]:
    answer = client.get(f"/{service}/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def write_operations(client: httpx.Client) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for service in SERVICES:
        for path, operations in openapi(client, service)["paths"].items():
            for method, operation in operations.items():
                if method in WRITES:
                    concrete = re.sub(r"\{[^}]+\}", lambda _: uuid.uuid4().hex[:12], path)
                    found.append((method.upper(), f"/{service}{concrete}", operation))
    return found


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def bounded_pattern(pattern: str | None) -> bool:
    """An anchored pattern without an open-ended repetition matches strings of bounded length."""
    return (
        pattern is not None
        and pattern.startswith("^")
        and pattern.endswith("$")
        and re.search(r"(?<!\\)[*+]|\{\d*,\}", pattern) is None
    )


def unbounded(document: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """Every string without maxLength (or an enum, a date) and every list without maxItems."""
    schema = resolve(document, schema)
    found: list[str] = []
    limits = {k: v for k, v in schema.items() if k in ("maxLength", "maxItems")}
    for option in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        found += unbounded(document, {**limits, **resolve(document, option)}, where)
    kind = schema.get("type")
    if kind == "string" and not (
        "maxLength" in schema
        or "enum" in schema
        or "const" in schema
        or schema.get("format") in ("date", "date-time", "time")
        or bounded_pattern(schema.get("pattern"))
    ):
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(f"{where}[]")
        found += unbounded(document, schema.get("items", {}), f"{where}[]")
    if kind == "object" or "properties" in schema:
        for name, field in schema.get("properties", {}).items():
            found += unbounded(document, field, f"{where}.{name}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            found += unbounded(document, extra, f"{where}.*")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_string_and_list_a_request_carries_has_a_maximum(
    up: tuple[httpx.Client, Path], service: str
) -> None:
    client, _ = up
    document = openapi(client, service)
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                missing += unbounded(document, body["schema"], f"{where} body")
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query", "header"):
                    name = f"{where} {parameter['in']} {parameter['name']}"
                    missing += unbounded(document, parameter["schema"], name)
    assert not missing, "unbounded:\n" + "\n".join(missing)


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_declares_the_bearer_key_it_needs(
    up: tuple[httpx.Client, Path], service: str
) -> None:
    client, _ = up
    document = openapi(client, service)
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    unguarded = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") != [{"ApiKey": []}]
    ]
    assert document["paths"]
    assert unguarded == []


def test_the_walk_finds_what_is_unbounded() -> None:
    schema = {
        "type": "object",
        "properties": {
            "skills": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "code": {"type": "string", "pattern": r"^\d+$"},
            "loose": {"type": "string", "pattern": r"\d{2,12}"},
            "area": {"type": "string", "pattern": r"^\d{2,12}$"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 9}},
        },
    }

    assert unbounded({}, schema, "x") == ["x.skills[]", "x.note", "x.code", "x.loose", "x.tags[]"]


def hostile(document: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A value of the schema's shape, far past every limit a sane request has."""
    schema = resolve(document, schema)
    options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if options:
        return hostile(document, options[0], depth)
    kind = schema.get("type")
    if depth > 3:
        return "x"
    if kind == "object" or "properties" in schema:
        return {
            name: hostile(document, field, depth + 1)
            for name, field in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [hostile(document, schema.get("items", {}), depth + 1)] * 2_000
    if kind == "integer":
        return 2**63 - 1
    if kind == "number":
        return 1e308
    if kind == "boolean":
        return "maybe"
    return "界" * 20_000


def test_no_write_endpoint_answers_hostile_input_with_a_server_error(
    up: tuple[httpx.Client, Path],
) -> None:
    client, log = up
    documents = {service: openapi(client, service) for service in SERVICES}
    operations = write_operations(client)
    assert len(operations) > 40
    failures = []
    for method, path, operation in operations:
        document = documents[path.split("/")[1]]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        attempts: list[tuple[str, bytes]] = [
            ("malformed JSON", b'{"a": [1, 2'),
            ("not an object", b"[]"),
            ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
            ("too large", b'{"a":"' + b"x" * (300 * 1024) + b'"}'),
            ("not JSON at all", b"\x00\xff\xfe"),
        ]
        if body:
            attempts.append(("oversized fields", orjson.dumps(hostile(document, body["schema"]))))
        for label, content in attempts:
            headers = {"Idempotency-Key": uuid.uuid4().hex, **_json()}
            answer = client.request(method, path, content=content, headers=headers)
            if answer.status_code >= 500 or answer.status_code < 400:
                failures.append(
                    f"{method} {path} {label}: {answer.status_code} {answer.text[:200]}"
                )
            elif answer.headers.get("content-type") != "application/problem+json":
                failures.append(f"{method} {path} {label}: not a problem: {answer.text[:200]}")
        anonymous = client.request(
            method, path, content=b"{not json", headers={"Authorization": "", **_json()}
        )
        if anonymous.status_code != 401:
            failures.append(f"{method} {path} without a key: {anonymous.status_code}")
    assert failures == []
    assert "Traceback" not in log.read_text()


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}
