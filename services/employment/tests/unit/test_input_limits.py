"""Every string and list a client sends employment (bodies, query and path parameters) has a
maximum length, so no request can make an event larger than NATS takes."""

from __future__ import annotations

import re
from typing import Any, cast

from fastapi import FastAPI

from jinguo_employment.entrypoints.http import create_router

UNBOUNDED = re.compile(r"(?<!\\)[*+]|\{\d*,\}")
KERNEL_BOUNDED = {"cursor"}
"""Decoded by the kernel, which refuses one over 1,000 characters with a 400 problem."""


def openapi() -> dict[str, Any]:
    app = FastAPI()
    app.include_router(create_router(cast(Any, None), cast(Any, None), cast(Any, None)))
    return app.openapi()


def unbounded(schema: dict[str, Any], where: str, definitions: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return unbounded(definitions[name], f"{where}", definitions)
    found: list[str] = []
    for option in schema.get("anyOf", []):
        found += unbounded(option, where, definitions)
    kind = schema.get("type")
    if kind == "string":
        pattern = schema.get("pattern")
        bounded = (
            "maxLength" in schema
            or "enum" in schema
            or schema.get("format") == "date"
            or (pattern is not None and not UNBOUNDED.search(pattern))
        )
        if not bounded:
            found.append(where)
    elif kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        found += unbounded(schema.get("items", {}), f"{where}[]", definitions)
    elif kind == "object":
        for name, field in schema.get("properties", {}).items():
            found += unbounded(field, f"{where}.{name}", definitions)
    return found


def test_every_string_and_list_a_client_sends_has_a_maximum() -> None:
    document = openapi()
    definitions = document["components"]["schemas"]
    found: list[str] = []
    operations = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations += 1
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "path") and parameter["name"] not in KERNEL_BOUNDED:
                    where = f"{method.upper()} {path} {parameter['name']}"
                    found += unbounded(parameter["schema"], where, definitions)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                found += unbounded(body["schema"], f"{method.upper()} {path} body", definitions)
    assert operations > 25
    assert found == []


def test_the_walk_finds_what_is_unbounded() -> None:
    schema = {
        "type": "object",
        "properties": {
            "skills": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "code": {"type": "string", "pattern": r"^\d+$"},
            "area": {"type": "string", "pattern": r"^\d{2,12}$"},
        },
    }
    assert unbounded(schema, "x", {}) == ["x.skills[]", "x.note", "x.code"]
