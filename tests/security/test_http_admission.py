"""What every service's HTTP API does before and around a command, attacked through the
registry's: authentication before the body, a bounded body, cursors and positions it never gave
out, an Idempotency-Key reused on another path, NATS down, and readiness under lag."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest

from jinguo_contracts.access import SCOPES
from jinguo_registry.bootstrap import RegistryService, issue_agency_key
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import IssueApiClient, RegisterAgency
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.http.conventions import encode_cursor
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import runtimes


@pytest.fixture
async def registry(jinguo_env: dict[str, str]) -> AsyncIterator[ServiceRuntime]:
    async with runtimes(RegistryService(), jinguo_env["JINGUO_NATS_URL"]) as open_registry:
        yield await open_registry()


@pytest.fixture
async def api(registry: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    issued = await issue_agency_key(
        registry,
        RegisterAgency(name="东城区妇联", kind="womens_federation", area_code="110101"),
        IssueApiClient(name="tests", scopes=sorted(SCOPES)),
    )
    await registry.projections.wait_for(issued.position, ["api_clients"], 10)
    app = RegistryService().create_app(registry)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://jinguo",
        headers={"Authorization": f"Bearer {issued.api_key}"},
    ) as client:
        yield client


def worker(n: int) -> dict[str, object]:
    return {
        "name": f"边界{n}",
        "national_id": make_national_id("110101", date(1976, 2, 1 + n), n, female=True),
        "phone": f"137{n:08d}",
        "area_code": "110101001001",
    }


async def test_a_request_without_a_key_is_refused_before_its_body_is_read(
    api: httpx.AsyncClient,
) -> None:
    for body in (b"{not json", b'{"name": 1}', b"\xff" * 10):
        answer = await api.post(
            "/workers",
            content=body,
            headers={"Authorization": "", "Content-Type": "application/json"},
        )
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    forged = await api.post(
        "/workers", content=b"{not json", headers={"Authorization": "Bearer jg_x_y"}
    )
    assert forged.status_code == 401


async def test_a_body_over_the_limit_is_a_413_however_it_is_sent(api: httpx.AsyncClient) -> None:
    oversized = b'{"name": "' + b"x" * (300 * 1024) + b'"}'
    declared = await api.post(
        "/workers", content=oversized, headers={"Content-Type": "application/json"}
    )

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(oversized), 16 * 1024):
            yield oversized[start : start + 16 * 1024]

    streamed = await api.post(
        "/workers", content=chunks(), headers={"Content-Type": "application/json"}
    )

    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.json()["type"].endswith("/request-too-large")
    assert (await api.post("/workers", json=worker(1))).status_code == 201


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor([2**63]),
        encode_cursor([-1]),
        base64.urlsafe_b64encode(b"[" + b"9" * 30 + b"]").decode(),
        encode_cursor(["text"]),
        "%%%not-base64",
        "A" * 5000,
    ],
)
async def test_a_cursor_it_never_gave_out_is_a_400_problem(
    api: httpx.AsyncClient, cursor: str
) -> None:
    answer = await api.get("/workers", params={"cursor": cursor})

    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_position_beyond_any_sequence_is_refused(api: httpx.AsyncClient) -> None:
    assert (await api.get("/workers", params={"after": f"REGISTRY:{2**63}"})).status_code == 400
    too_long = await api.get("/workers", params={"after": "REGISTRY:" + "9" * 30})
    assert too_long.status_code == 422


async def test_an_idempotency_key_is_bound_to_its_path(api: httpx.AsyncClient) -> None:
    """The same key and body sent for a second worker once answered the first worker's result
    and recorded nothing for the second."""
    w1 = (await api.post("/workers", json=worker(2))).json()["id"]
    w2 = (await api.post("/workers", json=worker(3))).json()["id"]
    visit = {"visited_on": "2026-11-02", "visitor": "社区专干", "notes": "了解求职意向"}
    key = {"Idempotency-Key": f"visit-{uuid.uuid4()}"}

    first = await api.post(f"/workers/{w1}/home-visits", json=visit, headers=key)
    again = await api.post(f"/workers/{w1}/home-visits", json=visit, headers=key)
    elsewhere = await api.post(f"/workers/{w2}/home-visits", json=visit, headers=key)

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert elsewhere.status_code == 422, elsewhere.text
    assert elsewhere.json()["type"].endswith("/idempotency-key-reused")
    recorded = await api.post(
        f"/workers/{w2}/home-visits", json=visit, headers={"Idempotency-Key": "a-new-key"}
    )
    assert recorded.status_code == 201
    dossiers = [
        (await api.get(f"/workers/{w}", params={"after": recorded.json()["position"]})).json()
        for w in (w1, w2)
    ]
    assert [len(d["home_visits"]) for d in dossiers] == [1, 1]


async def test_commands_answer_503_with_retry_after_while_nats_is_down(
    api: httpx.AsyncClient, nats_server: EmbeddedNats
) -> None:
    nats_server.stop()

    answer = await api.post("/workers", json=worker(4))

    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["retry-after"]) > 0


@pytest.fixture
def lagging(registry: ServiceRuntime) -> Iterator[None]:
    registry.projections.lag[("worker_directory", "REGISTRY")] = 1_000_000
    yield
    registry.projections.lag.clear()


async def test_readiness_does_not_depend_on_projection_lag(
    api: httpx.AsyncClient, lagging: None
) -> None:
    """One slow projector once took every API replica, and so every write, out of service."""
    ready = await api.get("/health/ready")

    assert ready.status_code == 200, ready.text
    assert ready.json()["projection_lag"]["worker_directory:REGISTRY"] == 1_000_000
