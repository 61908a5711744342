"""Read-your-writes across services (real NATS, both databases, real HTTP applications).

The employment service fills a post and answers its position (`EMPLOYMENT:n`); the registry's
reemployment policy reacts to the PostFilled. A registry read given that position shows the
re-employment without polling. The registry runs as two processes would: an API runtime that
runs no policy (it reads the policies' progress from the database) and a projector runtime.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from jinguo_employment.bootstrap import EmploymentService
from jinguo_registry.bootstrap import RegistryService
from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.settings import Settings
from jinguo_shared.testing import Opener, publish_agency, publisher, runtimes

DONGCHENG, XICHENG = "110101", "110102"
SCOPES = ["registry:read", "registry:write", "employment:read", "employment:write"]
BOUND = 2.0
"""The registry's consistency wait in these tests (JINGUO_CONSISTENCY_WAIT_SECONDS)."""


class System:
    def __init__(
        self,
        registry: httpx.AsyncClient,
        employment: httpx.AsyncClient,
        open_projector: Callable[[], Awaitable[ServiceRuntime]],
        outside: NatsClient,
        keys: dict[str, str],
        employment_runtime: ServiceRuntime,
    ) -> None:
        self.registry = registry
        self.employment = employment
        self.employment_runtime = employment_runtime
        self.open_projector = open_projector
        self.outside = outside
        self.keys = keys
        self.projector: ServiceRuntime | None = None
        self._workers = 0
        self._employer: str | None = None

    def headers(self, agency: str = "dongcheng") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[agency]}"}

    async def registered_worker(self) -> tuple[str, str]:
        """A worker of Dongcheng, and the registry's position of her registration."""
        self._workers += 1
        n = self._workers
        answer = await self.registry.post(
            "/workers",
            headers=self.headers(),
            json={
                "name": f"孙桂兰{n}",
                "national_id": make_national_id("110101", date(1978, 4, 9), n, True),
                "phone": f"139{n:08d}",
                "area_code": "110101003002",
                "desired_work": {"occupation_codes": ["4-10-01-05"], "hours_types": ["full_time"]},
            },
        )
        body = created(answer)
        return body["id"], body["position"]

    async def filled(self, worker_id: str, registered: str) -> str:
        """A post of Dongcheng filled with the worker; the employment service's position."""
        if self._employer is None:
            employer = await self.employment.post(
                "/employers",
                headers=self.headers(),
                json={
                    "name": "交道口街道社区服务中心",
                    "credit_code": "12110101MB1234567X",
                    "area_code": "110101003",
                },
            )
            self._employer = created(employer)["id"]
        post = created(
            await self.employment.post(
                "/posts",
                headers=self.headers(),
                json={
                    "employer_id": self._employer,
                    "title": "社区养老护理员",
                    "occupation_code": "4-10-01-05",
                    "area_code": "110101003001",
                    "wage": {"amount": 3800, "unit": "month"},
                    "hours_type": "full_time",
                    "openings": 1,
                    "kind": "market",
                },
            )
        )
        placed = created(
            await self.employment.post(
                f"/posts/{post['id']}/fill",
                headers=self.headers(),
                params={"after": registered},
                json={"worker_id": worker_id, "start_date": str(date.today())},
            )
        )
        position = placed["position"]
        assert isinstance(position, str)
        assert position.startswith("EMPLOYMENT:")
        return position

    async def dossier(
        self, worker_id: str, after: str, agency: str = "dongcheng"
    ) -> httpx.Response:
        return await self.registry.get(
            f"/workers/{worker_id}", headers=self.headers(agency), params={"after": after}
        )


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


def client(service: Any, runtime: ServiceRuntime, name: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=service.create_app(runtime))
    return httpx.AsyncClient(transport=transport, base_url=f"http://{name}", timeout=30)


@pytest.fixture
async def system(
    jinguo_env: dict[str, str],
    other_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    outside: NatsClient,
) -> AsyncIterator[System]:
    monkeypatch.setenv("JINGUO_EMPLOYMENT_DATABASE_URL", other_database_url)
    monkeypatch.setenv("JINGUO_CONSISTENCY_WAIT_SECONDS", str(BOUND))
    nats_url = jinguo_env["JINGUO_NATS_URL"]
    registry_opener: Opener
    async with (
        runtimes(RegistryService(), nats_url) as registry_opener,
        runtimes(EmploymentService(), nats_url) as employment_opener,
    ):
        registry_api = await registry_opener("api")
        employment = await employment_opener()
        agencies = {}
        for name, area in (("dongcheng", DONGCHENG), ("xicheng", XICHENG)):
            agencies[name] = await publish_agency(
                await publisher(outside, "registry"),
                name=name,
                area=area,
                clients={name: (SCOPES, None)},
            )

        async def open_projector() -> ServiceRuntime:
            made.projector = await registry_opener("projector")
            return made.projector

        async with (
            client(RegistryService(), registry_api, "registry") as registry_http,
            client(EmploymentService(), employment, "employment") as employment_http,
        ):
            made = System(
                registry_http,
                employment_http,
                open_projector,
                outside,
                {name: agency.keys[name] for name, agency in agencies.items()},
                employment,
            )
            projector = await open_projector()
            last = agencies["xicheng"].position
            await projector.projections.wait_for(last, ["api_clients"], 15)
            await employment.projections.wait_for(last, ["api_clients"], 15)
            yield made


async def test_a_read_given_the_fill_position_shows_the_reemployment(system: System) -> None:
    worker_id, registered = await system.registered_worker()
    filled = await system.filled(worker_id, registered)

    dossier = await system.dossier(worker_id, filled)

    assert dossier.status_code == 200, dossier.text
    assert dossier.json()["status"] == "reemployed"
    [reemployment] = dossier.json()["reemployments"]
    assert reemployment["employer_name"] == "交道口街道社区服务中心"


async def test_another_jurisdiction_given_the_position_still_sees_nothing(
    system: System,
) -> None:
    worker_id, registered = await system.registered_worker()
    filled = await system.filled(worker_id, registered)

    assert (await system.dossier(worker_id, filled, agency="xicheng")).status_code == 404
    assert (await system.dossier(worker_id, filled)).json()["status"] == "reemployed"


async def test_without_the_projector_the_read_is_a_503_at_the_bound_then_consistent(
    system: System,
) -> None:
    """The API process runs no policy: it reads their progress from the database."""
    worker_id, registered = await system.registered_worker()
    assert system.projector is not None
    await system.projector.close()
    filled = await system.filled(worker_id, registered)

    started = time.monotonic()
    lagging = await system.dossier(worker_id, filled)

    assert BOUND <= time.monotonic() - started < BOUND + 1.5
    assert lagging.status_code == 503, lagging.text
    assert lagging.headers["content-type"] == "application/problem+json"
    assert lagging.headers["retry-after"] == "1"
    assert lagging.json()["type"].endswith("/not-yet-consistent")
    assert lagging.json()["position"] == filled

    await system.open_projector()
    assert (await system.dossier(worker_id, filled)).json()["status"] == "reemployed"


@pytest.mark.parametrize("stream", ["ORDERS", "RIGHTS", "INSPECTIONS", "NO_SUCH_STREAM"])
async def test_a_position_of_a_stream_the_registry_never_follows_returns_at_once(
    system: System, stream: str
) -> None:
    worker_id, registered = await system.registered_worker()
    assert (await system.dossier(worker_id, registered)).status_code == 200

    started = time.monotonic()
    answer = await system.dossier(worker_id, f"{stream}:{2**62}")

    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("beyond", [1, 1000, 2**63 - 1, 2**63])
async def test_a_position_beyond_the_end_of_the_stream_is_refused(
    system: System, beyond: int
) -> None:
    worker_id, registered = await system.registered_worker()
    filled = await system.filled(worker_id, registered)
    seq = int(filled.partition(":")[2])

    started = time.monotonic()
    answer = await system.dossier(worker_id, f"EMPLOYMENT:{min(seq + beyond, 2**63)}")

    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    # refused on the stream's end, not after waiting out the consistency bound for a position
    # that never comes (half the bound: a loaded CI machine once took 1.6 s to answer)
    assert time.monotonic() - started < Settings().consistency_wait_seconds / 2


async def test_latency_of_reads_given_either_service_s_position(system: System) -> None:
    """50 fills, each read at once with the fill's position: every read shows the
    re-employment. Prints the read's latency against a read with the registry's own
    position and a plain read (run with -s to see it)."""
    timings: dict[str, list[float]] = {"plain": [], "own position": [], "fill position": []}
    for _ in range(50):
        worker_id, registered = await system.registered_worker()
        filled = await system.filled(worker_id, registered)
        for kind, after in (("fill position", filled), ("own position", registered)):
            started = time.perf_counter()
            answer = await system.dossier(worker_id, after)
            timings[kind].append(time.perf_counter() - started)
            assert answer.json()["status"] == "reemployed"
        started = time.perf_counter()
        await system.registry.get(f"/workers/{worker_id}", headers=system.headers())
        timings["plain"].append(time.perf_counter() - started)
    for kind, seconds in timings.items():
        percentiles = statistics.quantiles(seconds, n=100)
        print(f"{kind}: p50 {percentiles[49] * 1000:.1f} ms, p99 {percentiles[98] * 1000:.1f} ms")
