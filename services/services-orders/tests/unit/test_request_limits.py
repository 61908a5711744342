"""Every string and list a client sends to services-orders has a bound, so no request can make
an event larger than NATS takes (1 MB) or a row larger than its column."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from jinguo_orders.entrypoints.http import create_router

BOUNDED_STRING = {"maxLength", "pattern", "enum", "const"}
BOUNDED_FORMATS = {"date", "date-time"}


def unbounded(schema: dict[str, Any], where: str, schemas: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    found = [m for alt in schema.get("anyOf", []) for m in unbounded(alt, where, schemas)]
    kind = schema.get("type")
    if kind == "string" and not (
        BOUNDED_STRING & schema.keys() or schema.get("format") in BOUNDED_FORMATS
    ):
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(f"{where}[]")
        found += unbounded(schema.get("items", {}), f"{where}[]", schemas)
    for name, field in schema.get("properties", {}).items():
        found += unbounded(field, f"{where}.{name}", schemas)
    return found


def test_every_string_and_list_in_bodies_paths_and_queries_has_a_maximum() -> None:
    app = FastAPI()
    app.include_router(create_router(None, None, None))  # type: ignore[arg-type]
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    found, checked = [], 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header":
                    continue  # Authorization and Idempotency-Key: bounded by the kernel
                checked += 1
                found += unbounded(parameter["schema"], f"{where} {parameter['name']}", schemas)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                checked += 1
                found += unbounded(body["schema"], f"{where} body", schemas)
    assert checked > 40
    assert found == []
