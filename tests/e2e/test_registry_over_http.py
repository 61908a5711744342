"""End to end: `jinguo up --demo` as a user starts it, then the registry through real HTTP."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.ports import free_port

from .conftest import start_up


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("jinguo")
    port, nats_port = free_port(), free_port()
    log = data / "jinguo-up.log"
    process = start_up(data, port, log, "--demo", nats_port=nats_port)
    assert "registry demo:" in log.read_text()
    key = (data / "dev-api-key").read_text().strip()
    try:
        yield f"http://127.0.0.1:{port}/registry", key
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) in (0, 130), "jinguo up did not stop on Ctrl-C"
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", nats_port)) != 0, "nats-server left running"


def test_every_request_needs_a_valid_key(system: tuple[str, str]) -> None:
    base, _key = system
    missing = httpx.get(f"{base}/workers")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = httpx.get(f"{base}/workers", headers={"Authorization": "Bearer jg_abc_def"})
    assert wrong.status_code == 401


def test_the_demo_shows_real_lists_and_figures(system: tuple[str, str]) -> None:
    base, key = system
    auth = {"Authorization": f"Bearer {key}"}
    page = httpx.get(f"{base}/workers", params={"limit": 100}, headers=auth).json()
    assert len(page["items"]) == 100
    assert page["next_cursor"]
    second = httpx.get(
        f"{base}/workers", params={"limit": 100, "cursor": page["next_cursor"]}, headers=auth
    ).json()
    assert {w["worker_id"] for w in page["items"]}.isdisjoint(
        {w["worker_id"] for w in second["items"]}
    )
    assert all("*" in w["national_id"] for w in page["items"])
    report = httpx.get(f"{base}/reports/areas/110101", headers=auth).json()
    assert report["totals"]["registered"] >= 300
    # her path: every kind of spell, one ended (失业再登记), one woman drawing benefit
    for kind in ("placement", "found_herself", "flexible", "self_employed", "business"):
        assert report["totals"][f"reemployed:{kind}"] >= 1, kind
    assert report["totals"]["unemployed_again"] >= 1
    assert report["totals"]["benefit_granted"] >= 1
    drawing = httpx.get(f"{base}/workers", params={"draws_benefit": "true"}, headers=auth)
    assert len(drawing.json()["items"]) >= 1


def test_the_demo_shows_the_certificate_rules(system: tuple[str, str]) -> None:
    base, key = system
    auth = {"Authorization": f"Bearer {key}"}
    cards = httpx.get(f"{base}/certificates", params={"kind": "tax_relief"}, headers=auth).json()
    assert [c["relief"]["months"] for c in cards["items"]] == [18]
    for kind in ("employment_unemployment", "reemployment_preference"):
        found = httpx.get(f"{base}/certificates/entitlement", params={"kind": kind}, headers=auth)
        assert found.status_code == 200, found.text
        assert found.json()["without"] == len(found.json()["people"]) >= 1
    reviews = httpx.get(f"{base}/certificates/reviews", headers=auth).json()
    assert reviews["reviewed"] >= 1
    assert reviews["due"] >= 1


def test_a_worker_registered_over_http_reads_back_with_its_position(
    system: tuple[str, str],
) -> None:
    base, key = system
    auth = {"Authorization": f"Bearer {key}", "Idempotency-Key": "e2e-register-1"}
    body = {
        "name": "赵淑珍",
        "national_id": make_national_id("110101", date(1972, 6, 1), 88, True),
        "phone": "+86 139-1000-2000",
        "area_code": "110101002003",
        "desired_work": {"occupation_codes": ["4-10-01-06"], "hours_types": ["full_time"]},
    }
    first = httpx.post(f"{base}/workers", json=body, headers=auth)
    again = httpx.post(f"{base}/workers", json=body, headers=auth)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    duplicate = httpx.post(f"{base}/workers", json=body, headers={"Authorization": f"Bearer {key}"})
    assert duplicate.status_code == 409
    assert duplicate.json()["existing_id"] == first.json()["id"]
    worker_id, position = first.json()["id"], first.json()["position"]
    dossier = httpx.get(
        f"{base}/workers/{worker_id}",
        params={"after": position},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    assert (dossier["name"], dossier["phone"]) == ("赵淑珍", "13910002000")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"national_id": "110101197206010000"}, "national_id"),
        ({"national_id": "11010119720231002X"}, "national_id"),
        ({"phone": "12345"}, "phone"),
        ({"area_code": "990101001001"}, "area_code"),
        ({"desired_work": {"occupation_codes": ["4-10-1-5"]}}, "desired_work.occupation_codes.0"),
        ({"name": ""}, "name"),
        ({"hukou": "elsewhere"}, "hukou"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    system: tuple[str, str], change: dict[str, object], field: str
) -> None:
    base, key = system
    body = {
        "name": "钱",
        "national_id": make_national_id("110101", date(1980, 1, 1), 5, True),
        "phone": "13800000000",
        "area_code": "110101001001",
        **change,
    }
    answer = httpx.post(f"{base}/workers", json=body, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["type"].endswith("/invalid-request")
    assert field in [e["field"] for e in problem["errors"]]


def test_an_unknown_worker_and_a_bad_cursor_are_problems(system: tuple[str, str]) -> None:
    base, key = system
    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{base}/workers/nobody", headers=auth).status_code == 404
    assert httpx.get(f"{base}/workers", params={"cursor": "!!"}, headers=auth).status_code == 400
    assert (
        httpx.get(f"{base}/workers", params={"after": "nonsense"}, headers=auth).status_code == 422
    )
