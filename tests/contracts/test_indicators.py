"""Every report key is documented, in the README and in the service's OpenAPI description, and
a real report built from events answers with documented keys only."""

from __future__ import annotations

import ast
import inspect
import re
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from jinguo_contracts.access import SCOPES
from jinguo_employment.handlers import commands as employment
from jinguo_employment.projections import reports as employment_reports
from jinguo_employment.projections.reports import INDICATORS as EMPLOYMENT
from jinguo_orders.projections import reports as orders_reports
from jinguo_orders.projections.reports import INDICATORS as ORDERS
from jinguo_registry.bootstrap import issue_agency_key
from jinguo_registry.handlers import commands as registry
from jinguo_registry.projections import reports as registry_reports
from jinguo_registry.projections.reports import INDICATORS as REGISTRY
from jinguo_rights.domain.reports import INDICATORS as RIGHTS
from jinguo_rights.handlers import commands as rights
from jinguo_shared.app import Indicators, indicator_table
from jinguo_shared.runtime import ServiceRuntime

README = Path(__file__).parents[2] / "README.md"
DOCUMENTED = {"registry": REGISTRY, "employment": EMPLOYMENT, "orders": ORDERS, "rights": RIGHTS}
AREA = "110101"
ALL_MONTHS = {"from": "2000-01", "to": "2099-12"}


def test_readme_and_openapi_list_every_indicator(documents: dict[str, dict[str, Any]]) -> None:
    readme = README.read_text()
    for service, indicators in DOCUMENTED.items():
        table = indicator_table(indicators)
        assert table in readme, f"README's Report indicators for {service} are out of date"
        assert table in documents[service]["info"]["description"], service
        for counts, period in indicators.values():
            assert counts.strip(), service
            assert period.strip(), service


def documented(key: str, indicators: Indicators) -> bool:
    return any(
        re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^:.]+", re.escape(pattern)), key)
        for pattern in indicators
    )


def test_a_placeholder_stands_for_one_value_only() -> None:
    assert documented("category:disabled", REGISTRY)
    assert not documented("category:disabled:extra", REGISTRY)
    assert not documented("registered_twice", REGISTRY)
    assert documented("by_channel.visit", RIGHTS)


def counted_metrics(projection: ModuleType) -> list[str]:
    """Every metric a reports projection's code counts (`self._add(…)`, `self._count(…)`), a
    value computed from the event as `{}`."""
    metrics = []
    for node in ast.walk(ast.parse(inspect.getsource(projection))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("_add", "_count")
        ):
            metric = node.args[3]
            if isinstance(metric, ast.Constant):
                metrics.append(str(metric.value))
            else:
                assert isinstance(metric, ast.JoinedStr)
                metrics.append(
                    "".join(
                        str(part.value) if isinstance(part, ast.Constant) else "{}"
                        for part in metric.values
                    )
                )
    return metrics


def test_every_metric_the_projections_count_is_documented() -> None:
    for projection, indicators in (
        (registry_reports, REGISTRY),
        (employment_reports, EMPLOYMENT),
        (orders_reports, ORDERS),
    ):
        metrics = counted_metrics(projection)
        assert len(metrics) >= 7
        for metric in metrics:
            assert documented(metric.replace("{}", "any"), indicators), metric


def example(model: type[BaseModel], **changes: Any) -> dict[str, Any]:
    """The model's documented example, with the ids of this test's records."""
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    examples = extra["examples"]
    assert isinstance(examples, list)
    return {**examples[0], **changes}


class Api:
    """A service's app as a partner calls it, remembering the position of its last command."""

    def __init__(self, app: FastAPI, key: str) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://jinguo",
            headers={"Authorization": f"Bearer {key}"},
        )
        self.position = ""

    async def send(self, method: str, path: str, body: dict[str, Any]) -> str:
        answer = await self.client.request(method, path, json=body)
        assert answer.status_code in (200, 201), f"{method} {path}: {answer.text}"
        self.position = answer.json()["position"]
        return str(answer.json()["id"])

    async def read(self, path: str, **params: str) -> dict[str, Any]:
        answer = await self.client.get(path, params={**params, "after": self.position})
        assert answer.status_code == 200, f"{path}: {answer.text}"
        read: dict[str, Any] = answer.json()
        return read


def keys(report: dict[str, Any]) -> set[str]:
    """A report's keys, `a.b` for member b of object a."""
    found = set()
    for key, value in report.items():
        if isinstance(value, dict):
            found |= {f"{key}.{member}" for member in value}
        else:
            found.add(key)
    return found


@pytest.fixture
async def keys_of_one_agency(
    service_runtimes: dict[str, ServiceRuntime],
) -> tuple[str, str, str]:
    """An agency's key with every scope, its officer chen.li's own key, and its id."""
    agency = registry.RegisterAgency(
        name="东城区妇女联合会", kind="womens_federation", area_code=AREA
    )
    issued = await issue_agency_key(
        service_runtimes["registry"],
        agency,
        registry.IssueApiClient(name="全部", scopes=sorted(SCOPES)),
    )
    officer = await issue_agency_key(
        service_runtimes["registry"],
        agency,
        registry.IssueApiClient(
            name="陈丽", scopes=["rights:read", "rights:write"], officer_id="chen.li"
        ),
    )
    for runtime in service_runtimes.values():
        await runtime.projections.wait_for(officer.position, ["api_clients"], 15)
    return issued.api_key, officer.api_key, issued.agency_id


async def test_reports_built_from_events_answer_documented_keys_only(
    apps: dict[str, FastAPI],
    service_runtimes: dict[str, ServiceRuntime],
    keys_of_one_agency: tuple[str, str, str],
) -> None:
    key, officer_key, agency_id = keys_of_one_agency
    today = service_runtimes["employment"].clock.today()
    r = Api(apps["registry"], key)
    worker = await r.send("POST", "/workers", example(registry.RegisterWorker))
    await r.send("POST", f"/workers/{worker}/categories", example(registry.AssessCategory))
    certificate = example(registry.IssueCertificate)
    await r.send("POST", f"/workers/{worker}/certificates", certificate)
    await r.send(
        "POST",
        f"/workers/{worker}/certificates/{certificate['number']}/revoke",
        example(registry.RevokeCertificate),
    )
    resident = await r.send("POST", "/residents", example(registry.RegisterResident))
    await r.send("POST", f"/residents/{resident}/eligibility", example(registry.ChangeEligibility))
    worker_known = r.position

    e = Api(apps["employment"], key)
    employer = await e.send("POST", "/employers", example(employment.RegisterEmployer))
    post = await e.send("POST", "/posts", example(employment.PublishPost, employer_id=employer))
    e.position = worker_known
    answer = await e.client.post(
        f"/posts/{post}/fill",
        params={"after": worker_known},
        json=example(employment.FillPost, worker_id=worker),
    )
    assert answer.status_code == 201, answer.text
    placement = answer.json()["placement_id"]
    await e.send("POST", f"/placements/{placement}/follow-ups", example(employment.FollowUp))
    await e.send("POST", f"/placements/{placement}/end", example(employment.EndPlacement))
    running = {"starts_on": str(today - timedelta(days=10)), "ends_on": str(today)}
    course = await e.send("POST", "/courses", example(employment.ScheduleCourse, **running))
    await e.send("POST", f"/courses/{course}/enrolments", {"worker_id": worker})
    for path, model, day in (
        ("completions", employment.CompleteTraining, "completed_on"),
        ("certificates", employment.AwardCertificate, "awarded_on"),
        ("subsidies", employment.GrantSubsidy, "granted_on"),
    ):
        body = example(model, worker_id=worker, **{day: str(today)})
        await e.send("POST", f"/courses/{course}/{path}", body)

    w = Api(apps["rights"], key)
    await w.send("PUT", "/officers/chen.li", example(rights.AppointOfficer))
    officer = Api(apps["rights"], officer_key)
    officer.position = w.position
    await officer.send("POST", "/cases", example(rights.OpenCase, complainant={"name": "王秀兰"}))
    inspection = await officer.send(
        "POST", "/inspections", example(rights.RecordInspection, employer_id=employer)
    )
    await officer.send(
        "POST", f"/inspections/{inspection}/rectification", example(rights.RectifyViolation)
    )

    registry_report = await r.read(f"/reports/areas/{AREA}", **ALL_MONTHS)
    employment_report = await e.read(f"/reports/areas/{AREA}", **ALL_MONTHS)
    year = await e.read(f"/reports/areas/{AREA}/years/2026")
    own = await officer.read("/reports", agency_id=agency_id)
    shared = await officer.read("/reports")
    answered = {
        "registry": set(registry_report["totals"]),
        "employment": set(employment_report["totals"]) | set(year["totals"]),
        "rights": keys(own) | keys(shared),
    }
    assert {"registered", "category:age_40_50", "certificate:tax_relief"} <= answered["registry"]
    assert {"placements:public_welfare", "retained_3m", "trade:养老护理"} <= answered["employment"]
    assert {"cases", "small_counts", "violations_by_topic.protected_periods"} <= answered["rights"]
    for service, found in answered.items():
        undocumented = {k for k in found if not documented(k, DOCUMENTED[service])}
        assert not undocumented, f"{service} reports undocumented keys: {undocumented}"
