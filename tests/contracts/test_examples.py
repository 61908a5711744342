"""Every request body in the four OpenAPI documents shows an example, and each example is one
its command model accepts: a partner who copies it gets past validation."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from .conftest import api_routes


def body_model(route: APIRoute) -> type[BaseModel]:
    (body,) = route.dependant.body_params
    model = body.field_info.annotation
    assert isinstance(model, type)
    assert issubclass(model, BaseModel)
    return model


def documented_examples(document: dict[str, Any], route: APIRoute, method: str) -> list[Any]:
    operation = document["paths"][route.path][method.lower()]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    examples: list[Any] = document["components"]["schemas"][name].get("examples", [])
    return examples


def test_every_request_body_has_an_example_its_model_accepts(apps: dict[str, FastAPI]) -> None:
    bodies = 0
    for service, app in apps.items():
        document = app.openapi()
        for route in api_routes(app):
            if route.body_field is None:
                continue
            model = body_model(route)
            for method in route.methods:
                examples = documented_examples(document, route, method)
                assert examples, f"{service} {method} {route.path}: no example"
                for example in examples:
                    model.model_validate(example)
                bodies += 1
    assert bodies >= 60


def test_an_example_that_breaks_its_model_is_caught(apps: dict[str, FastAPI]) -> None:
    """The check above validates for real: the worker example without its national ID fails."""
    route = next(
        r for r in api_routes(apps["registry"]) if r.path == "/workers" and "POST" in r.methods
    )
    (example,) = documented_examples(apps["registry"].openapi(), route, "POST")
    broken = {k: v for k, v in example.items() if k != "national_id"}
    try:
        body_model(route).model_validate(broken)
    except ValueError:
        return
    raise AssertionError("an example without a required field was accepted")
