"""What a partner codes against in the four OpenAPI documents: operations named by hand,
every problem an operation can answer documented, and answered, as RFC 9457 details."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from jinguo_contracts.access import SCOPES
from jinguo_registry.bootstrap import issue_agency_key
from jinguo_registry.handlers.commands import IssueApiClient, RegisterAgency
from jinguo_shared.http.problems import PROBLEM_JSON, Problem
from jinguo_shared.runtime import ServiceRuntime

from .conftest import api_routes

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_every_operation_is_named_after_its_function(apps: dict[str, FastAPI]) -> None:
    assert set(apps) == {"registry", "employment", "orders", "rights"}
    for service, app in apps.items():
        documented = {
            (method, path): operation["operationId"]
            for method, path, operation in operations(app.openapi())
        }
        ids = list(documented.values())
        assert len(ids) == len(set(ids)), f"{service}: an operationId is used twice"
        routes = api_routes(app)
        assert len(routes) == len(documented), service
        for route in routes:
            camel = re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), route.name)
            for method in route.methods:
                operation_id = documented[(method.lower(), route.path)]
                assert CAMEL_CASE.match(operation_id), f"{service}: {operation_id}"
                assert operation_id == camel, f"{service} {method} {route.path}"


def test_every_operation_documents_its_problems(documents: dict[str, dict[str, Any]]) -> None:
    for service, document in documents.items():
        assert "Problem" in document["components"]["schemas"]
        assert "HTTPValidationError" not in document["components"]["schemas"]
        for method, path, operation in operations(document):
            where = f"{service} {method.upper()} {path}"
            responses = operation["responses"]
            expected = {"401", "403", "503"}
            if "{" in path:
                expected.add("404")
            if method != "get":
                expected.add("409")
            if "requestBody" in operation:
                expected |= {"413", "422"}
            if operation.get("parameters"):
                expected |= {"400", "422"}
            assert expected <= set(responses), f"{where} lacks {expected - set(responses)}"
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert response["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}, where
                    assert response["description"], where


@pytest.fixture
async def registry_api(
    apps: dict[str, FastAPI], service_runtimes: dict[str, ServiceRuntime]
) -> httpx.AsyncClient:
    registry = service_runtimes["registry"]
    issued = await issue_agency_key(
        registry,
        RegisterAgency(name="东城区民政局", kind="civil_affairs", area_code="110101"),
        IssueApiClient(name="contracts", scopes=sorted(SCOPES)),
    )
    await registry.projections.wait_for(issued.position, ["api_clients"], 10)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=apps["registry"]),
        base_url="http://jinguo",
        headers={"Authorization": f"Bearer {issued.api_key}"},
    )


async def test_problems_are_answered_as_documented(registry_api: httpx.AsyncClient) -> None:
    async with registry_api as api:
        answers = {
            401: await api.get("/workers", headers={"Authorization": "Bearer jg_forged_key"}),
            400: await api.get("/workers", params={"cursor": "not-a-cursor"}),
            404: await api.get("/workers/nobody"),
            413: await api.post("/workers", content=b"{" + b" " * 2_000_000 + b"}"),
            422: await api.post("/workers", json={"name": ""}),
        }
    for status, answer in answers.items():
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == PROBLEM_JSON
        problem = Problem.model_validate(answer.json())
        assert problem.status == status
        assert problem.instance == answer.request.url.path
    invalid = Problem.model_validate(answers[422].json())
    assert invalid.errors is not None
    assert {e.field for e in invalid.errors} >= {"name", "national_id"}
