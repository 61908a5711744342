"""Erasure is final: after `POST /registry/workers/{id}/erase` (and `/residents/{id}/erase`)
no file holds her key, and nothing the registry serves links what remains to her.

Found: her wrapped key stayed in registry.db-wal (still there after 300 s idle) and, with the
master key from the same data directory, unwrapped and decrypted her sealed name from the log;
her birth date, gender, community, 低保 category and home visits stayed readable under her id.
Here she is registered with all of that, erased, and then every file of the data directory
(database, WAL, shared memory, the NATS store) is searched for her key and her data; on
PostgreSQL the key's row must be gone and its table vacuumed. The last test starts `jinguo up`
as a user does and checks the same of its data directory, and that it is its owner's alone.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sqlite3
import stat
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from jinguo_registry.bootstrap import DEV_KEY_FILE, RegistryService
from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.db import pii_keys
from jinguo_shared.ports import free_port
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.testing import runtimes

from ..e2e.conftest import start_up

COMMUNITY = "110101001002"
DISTRICT = COMMUNITY[:6]


@dataclass
class Person:
    """What identifies her, as it would lie in a file."""

    name: str
    national_id: str
    phone: str

    def traces(self) -> dict[str, bytes]:
        return {
            "name": self.name.encode(),
            "national ID": self.national_id.encode(),
            "phone": self.phone.encode(),
        }


HER = Person("李秀兰", make_national_id(DISTRICT, date(1972, 4, 9), 31, female=True), "13911112222")
HER_AS_RESIDENT = Person(
    "赵淑珍", make_national_id(DISTRICT, date(1941, 8, 3), 32, female=True), "13911113333"
)
SOMEONE_ELSE = Person(
    "王桂英", make_national_id(DISTRICT, date(1970, 2, 2), 33, female=True), "13911114444"
)


def key_traces(wrapped: bytes) -> dict[str, bytes]:
    return {
        "wrapped key": wrapped,
        "wrapped key (base64)": base64.b64encode(wrapped),
        "wrapped key (url-safe base64)": base64.urlsafe_b64encode(wrapped),
    }


def files_holding(root: Path, traces: dict[str, bytes]) -> list[str]:
    """Every file under `root` (databases with their -wal, -shm and -journal files, the NATS
    store, keys, logs) that holds one of `traces`, as "file: what"."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a temporary file nats-server has just renamed
            continue
        found += [f"{path.relative_to(root)}: {what}" for what, t in traces.items() if t in data]
    return found


@dataclass
class Registry:
    http: httpx.AsyncClient
    runtime: ServiceRuntime
    headers: dict[str, str]

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> str:
        answer = await self.http.post(path, json=body, headers=self.headers)
        assert answer.status_code == status, answer.text
        return str(answer.json()["id"])

    async def applied(self) -> None:
        """Until every registry projection has applied the whole stream (bounded: 15 s)."""
        last = (await self.runtime.nc.jetstream().stream_info("REGISTRY")).state.last_seq
        for name in self.runtime.projections.names():
            projection = self.runtime.projections.active(name)
            for _ in range(300):
                if await self.runtime.projections.checkpoint(projection, "REGISTRY") >= last:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"{name} did not catch up")

    async def wrapped_key(self, subject_id: str) -> bytes | None:
        async with self.runtime.engine.connect() as connection:
            stored = await connection.scalar(
                select(pii_keys.c.wrapped_key).where(pii_keys.c.subject_id == subject_id)
            )
        return None if stored is None else bytes(stored)

    async def rows_naming(self, subject_id: str) -> list[str]:
        """Rows of the registry's projections that hold `subject_id` in any column."""
        found = []
        async with self.runtime.engine.connect() as connection:
            for name in self.runtime.projections.names():
                for table in self.runtime.projections.active(name).metadata.sorted_tables:
                    for row in await connection.execute(select(table)):
                        if any(subject_id in str(value) for value in row):
                            found.append(f"{table.name}: {tuple(row)}")
        return found

    async def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        rows = {}
        async with self.runtime.engine.connect() as connection:
            for name in self.runtime.projections.names():
                for table in self.runtime.projections.active(name).metadata.sorted_tables:
                    result = await connection.execute(select(table))
                    rows[table.name.rsplit("_g", 1)[0]] = sorted(map(tuple, result), key=repr)
        return rows


@pytest.fixture
async def registry(jinguo_env: dict[str, str]) -> AsyncIterator[Registry]:
    service = RegistryService()
    async with runtimes(service, jinguo_env["JINGUO_NATS_URL"]) as open_registry:
        runtime = await open_registry()
        await service.seed_development(runtime)
        key = (runtime.settings.data_dir / DEV_KEY_FILE).read_text().strip()
        transport = httpx.ASGITransport(app=service.create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            registry = Registry(http, runtime, {"Authorization": f"Bearer {key}"})
            for _ in range(200):  # until the projection has the operator's key
                if (await http.get("/agencies", headers=registry.headers)).status_code == 200:
                    break
                await asyncio.sleep(0.05)
            yield registry


async def register_her_fully(registry: Registry, person: Person) -> str:
    """A worker with everything the registry keeps about a person."""
    day = registry.runtime.clock.today() - timedelta(days=3)
    worker = await registry.post(
        "/workers",
        {
            "name": person.name,
            "national_id": person.national_id,
            "phone": person.phone,
            "area_code": COMMUNITY,
            "hukou": "migrant",
            "skills": ["养老护理", "家政"],
            "desired_work": {"occupation_codes": ["4-10-01-05"], "hours_types": ["part_time"]},
            "occurred_on": str(day),
        },
    )
    base = f"/workers/{worker}"
    await registry.post(
        f"{base}/categories",
        {
            "category": "minimum_living_allowance",
            "evidence": "低保证 东民 2026-0031",
            "valid_until": str(day + timedelta(days=365)),
        },
    )
    for number in ("E-2026-0031", "R-2026-0031"):
        await registry.post(
            f"{base}/certificates",
            {"kind": "reemployment_preference", "number": number, "issued_on": str(day)},
        )
    await registry.post(
        f"{base}/home-visits",
        {"visited_on": str(day), "visitor": "社区干部张敏", "notes": "丈夫下岗，家中有老人"},
    )
    await registry.post(
        f"{base}/reemployment",
        {
            "post_id": f"post-{worker[:8]}",
            "placement_id": f"placement-{worker[:8]}",
            "employer_name": "东城区巾帼家政服务中心",
            "started_on": str(day),
        },
    )
    await registry.post(
        f"{base}/spells",
        {
            "kind": "self_employed",
            "started_on": str(day),
            "business": {"name": "桂英裁缝铺", "trade": "缝纫", "jobs_created": 1},
        },
    )
    await registry.post(
        f"{base}/unemployment-benefit",
        {"from_on": str(day), "until": str(day + timedelta(days=180)), "monthly_yuan": 1800},
    )
    return worker


async def register_resident(registry: Registry, person: Person) -> str:
    resident = await registry.post(
        "/residents",
        {
            "name": person.name,
            "national_id": person.national_id,
            "phone": person.phone,
            "area_code": COMMUNITY,
            "address": "东城区交道口菊儿胡同 3 号",
        },
    )
    answer = await registry.http.post(
        f"/residents/{resident}/eligibility",
        json={"price_tier": "free", "reason": "minimum_living_allowance"},
        headers=registry.headers,
    )
    assert answer.status_code == 200, answer.text
    return resident


async def test_after_erasure_no_file_holds_her_key_and_nothing_links_facts_to_her(
    registry: Registry, tmp_path: Path
) -> None:
    worker = await register_her_fully(registry, HER)
    resident = await register_resident(registry, HER_AS_RESIDENT)
    other = await register_her_fully(registry, SOMEONE_ELSE)
    await registry.applied()
    keys = {who: await registry.wrapped_key(who) for who in (worker, resident, other)}
    assert all(keys.values())
    report = {
        area: (await registry.http.get(f"/reports/areas/{area}", headers=registry.headers)).json()
        for area in (COMMUNITY, DISTRICT)
    }
    assert report[COMMUNITY]["totals"]["registered"] == 2

    await registry.post(f"/workers/{worker}/erase", {"reason": "本人申请"}, status=200)
    await registry.post(f"/residents/{resident}/erase", {"reason": "本人申请"}, status=200)

    # her key: gone, and no copy in any file (SQLite), or vacuumed away (PostgreSQL)
    assert (await registry.wrapped_key(worker), await registry.wrapped_key(resident)) == (
        None,
        None,
    )
    erased_keys = {**key_traces(keys[worker] or b""), **key_traces(keys[resident] or b"")}
    assert files_holding(tmp_path, erased_keys) == []
    if registry.runtime.engine.dialect.name == "postgresql":
        # dead tuples counted on the pages themselves: pg_stat_user_tables.n_dead_tup can count
        # a deletion whose statistics a backend flushed only after the VACUUM had run
        async with registry.runtime.engine.begin() as connection:
            await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pgstattuple"))
            dead = (
                await connection.execute(
                    text("SELECT dead_tuple_count FROM pgstattuple('pii_keys')")
                )
            ).scalar_one()
            vacuums = (
                await connection.execute(
                    text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'pii_keys'")
                )
            ).scalar_one()
        assert (dead, vacuums >= 2) == (0, True)
    else:  # the scan sees a key that is still there
        assert files_holding(tmp_path, key_traces(keys[other] or b""))
    # her data was never written in clear, before or after
    for person in (HER, HER_AS_RESIDENT, SOMEONE_ELSE):
        assert files_holding(tmp_path, person.traces()) == []

    # nothing the registry serves or keeps in its read models links a fact to her
    await registry.applied()
    for subject in (worker, resident):
        assert await registry.rows_naming(subject) == []
    assert await registry.rows_naming(other)
    dossier = await registry.http.get(f"/workers/{worker}", headers=registry.headers)
    assert dossier.status_code == 404
    for path, id_field in (("/workers", "worker_id"), ("/certificates", "worker_id")):
        listed = await registry.http.get(path, params={"limit": 200}, headers=registry.headers)
        assert worker not in {row[id_field] for row in listed.json()["items"]}
    residents = await registry.http.get("/residents", headers=registry.headers)
    assert resident not in {row["resident_id"] for row in residents.json()["items"]}
    # the figures she was counted in stay as they were
    for area in (COMMUNITY, DISTRICT):
        after = await registry.http.get(f"/reports/areas/{area}", headers=registry.headers)
        assert after.json() == report[area]

    # a replay builds exactly what the live projections hold
    live = await registry.tables()
    await registry.runtime.projections.rebuild(*registry.runtime.projections.names())
    assert await registry.tables() == live
    for subject in (worker, resident):
        assert await registry.rows_naming(subject) == []


async def test_an_erased_person_takes_no_more_commands_and_her_record_answers_404(
    registry: Registry,
) -> None:
    worker = await register_her_fully(registry, HER)
    await registry.post(f"/workers/{worker}/erase", {"reason": "本人申请"}, status=200)
    day = str(registry.runtime.clock.today())
    refused = await registry.http.post(
        f"/workers/{worker}/home-visits",
        json={"visited_on": day, "visitor": "x", "notes": "x"},
        headers=registry.headers,
    )
    assert refused.status_code == 404
    spell = await registry.http.post(
        f"/workers/{worker}/spells",
        json={"kind": "flexible", "started_on": day},
        headers=registry.headers,
    )
    assert spell.status_code == 404
    again = await registry.http.post(
        f"/workers/{worker}/erase", json={"reason": "again"}, headers=registry.headers
    )
    assert again.status_code == 200  # erasing twice is quiet


def test_a_jinguo_up_data_directory_is_its_owners_and_keeps_no_erased_key(
    tmp_path: Path,
) -> None:
    """`jinguo up` as a user runs it (two API processes, a projector, nats-server, SQLite):
    after an erasure over HTTP no file of its data directory holds her key or her data, and
    the directory is 0700 with every file in it 0600, nats-server's included."""
    data = tmp_path / "jinguo"
    port = free_port()
    process = start_up(data, port, tmp_path / "jinguo-up.log")
    try:
        key = (data / DEV_KEY_FILE).read_text().strip()
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}/registry",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ) as http:
            registered = http.post(
                "/workers",
                json={
                    "name": HER.name,
                    "national_id": HER.national_id,
                    "phone": HER.phone,
                    "area_code": COMMUNITY,
                },
            )
            assert registered.status_code == 201, registered.text
            worker, position = registered.json()["id"], registered.json()["position"]
            for _ in range(100):  # until the projector has her (bounded: 10 s)
                if http.get(f"/workers/{worker}", params={"after": position}).status_code == 200:
                    break
                time.sleep(0.1)
            wrapped = wrapped_key_in(data / "registry.db", worker)
            assert files_holding(data, key_traces(wrapped)), "the scan sees her key before"
            erased = http.post(f"/workers/{worker}/erase", json={"reason": "本人申请"})
            assert erased.status_code == 200, erased.text
            assert files_holding(data, {**key_traces(wrapped), **HER.traces()}) == []
        assert_owners_only(data)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) in (0, 130)


def wrapped_key_in(database: Path, subject_id: str) -> bytes:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        [(wrapped,)] = connection.execute(
            "SELECT wrapped_key FROM pii_keys WHERE subject_id = ?", (subject_id,)
        ).fetchall()
    finally:
        connection.close()
    return bytes(wrapped)


def assert_owners_only(data: Path) -> None:
    """Found: data files were world-readable (0644) beside keys/master.key."""
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    loose = []
    for parent, folders, files in os.walk(data):
        for name, wanted in [*((f, 0o700) for f in folders), *((f, 0o600) for f in files)]:
            path = os.path.join(parent, name)
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except FileNotFoundError:  # a temporary file of nats-server's, renamed meanwhile
                continue
            if mode != wanted:
                loose.append(f"{os.path.relpath(path, data)} {mode:o}")
    assert loose == []
    assert any((data / "nats").rglob("*.blk")), "nats-server's store was checked too"
