"""Realistic registry events, sealed as in production, and a pipelined publisher.

The mix follows a programme's life: mostly registrations (~60% WorkerRegistered), then
assessments, certificates, home visits, re-employment, residents and their price tiers, a few
volunteers and providers, and the partner agencies with their API clients at the start. Area
codes are valid 12-digit community codes in five districts; national IDs are valid (check digit,
birth date) and unique; PII is sealed with a real `PiiVault`, one key per person.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import orjson
from nats.aio.client import Client as NatsClient

from jinguo_contracts.access import AgencyRegisteredV1, ApiClientIssuedV1
from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    OCCUPATION_CODE_SYSTEM,
    CertificateIssuedV1,
    HomeVisitRecordedV1,
    ProviderRegisteredV1,
    ReemploymentSpellEndedV1,
    ReemploymentSpellStartedV1,
    ResidentEligibilityChangedV1,
    ResidentRegisteredV1,
    UnemploymentBenefitGrantedV1,
    UnemploymentReregisteredV1,
    VolunteerRegisteredV1,
    WorkerCategoryAssessedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_registry.domain.organisations import Agency, Provider, Volunteer
from jinguo_registry.domain.resident import Resident
from jinguo_registry.domain.worker import Worker, WorkerState
from jinguo_shared.crypto import PiiVault
from jinguo_shared.db import kernel_metadata, make_engine
from jinguo_shared.domain import Aggregate
from jinguo_shared.envelope import Envelope, event_id, nats_subject

DISTRICTS = ("110101", "110102", "310104", "440106", "510107")
"""东城区, 西城区 (Beijing), 徐汇区 (Shanghai), 天河区 (Guangzhou), 武侯区 (Chengdu)."""
COMMUNITIES = tuple(
    f"{district}{street:03d}{community:03d}"
    for district in DISTRICTS
    for street in range(1, 9)
    for community in range(1, 11)
)
MIX: tuple[tuple[str, float], ...] = (
    ("WorkerRegistered", 0.600),
    ("WorkerCategoryAssessed", 0.100),
    ("CertificateIssued", 0.080),
    ("HomeVisitRecorded", 0.080),
    ("WorkerReemployed", 0.010),
    ("ReemploymentSpellStarted", 0.020),
    ("ReemploymentSpellEnded", 0.006),
    ("UnemploymentReregistered", 0.004),
    ("UnemploymentBenefitGranted", 0.002),
    ("ResidentRegistered", 0.060),
    ("ResidentEligibilityChanged", 0.036),
    ("VolunteerRegistered", 0.003),
    ("ProviderRegistered", 0.001),
)
WORKER_UPDATES = frozenset(
    {
        "WorkerCategoryAssessed",
        "CertificateIssued",
        "HomeVisitRecorded",
        "WorkerReemployed",
        "ReemploymentSpellStarted",
        "ReemploymentSpellEnded",
        "UnemploymentReregistered",
        "UnemploymentBenefitGranted",
    }
)
SPELL_KINDS = ("placement", "found_herself", "flexible")
"""Kinds without a business: `Generated.event()` builds no nested model for `evolve`."""
AGENCIES = 12
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ("秀英", "桂英", "秀兰", "玉兰", "淑珍", "凤英", "玉梅", "丽华", "红梅", "海燕", "丽娟")
SKILLS = ("家政", "保洁", "养老护理", "育婴", "中式烹调", "手工编织", "缝纫", "收银", "月嫂")
OCCUPATIONS = ("4-10-01-05", "4-10-01-06", "4-03-02-01", "4-10-01-03")
CATEGORIES = (
    ("age_40_50", "户口簿及身份证核验"),
    ("minimum_living_allowance", "最低生活保障金领取证"),
    ("zero_employment_household", "零就业家庭认定表"),
    ("disabled", "残疾人证"),
    ("long_term_unemployed", "失业登记满一年证明"),
)
EMPLOYERS = ("巾帼家政服务中心", "康乐居家养老服务站", "阳光月嫂之家", "金牌家政有限公司")
HOURS = ("full_time", "part_time", "hourly")
TIERS = (
    ("free", "minimum_living_allowance"),
    ("free", "extreme_poverty"),
    ("low_cost", "elderly_living_alone"),
    ("market", "none"),
)
PLAIN_CERTIFICATES = ("employment_unemployment", "reemployment_preference")
TODAY = date.today()
MASTER_KEY = b"\x01" * 32


@dataclass(frozen=True, slots=True)
class Generated:
    """One event ready to publish, with what a benchmark needs to track its aggregate."""

    subject: str
    payload: bytes
    msg_id: str
    aggregate: str
    aggregate_id: str
    contract: type[EventContract]
    fields: dict[str, Any]
    """The event's fields before sealing (dates as `date`), as the contract would dump them."""

    def event(self) -> EventContract:
        """The contract object, unvalidated (enough for an aggregate's `evolve`)."""
        return self.contract.model_construct(**self.fields)


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
FIRST_BIRTH = date(1966, 1, 1)


def national_id_parts(number: int) -> tuple[str, date, int]:
    """(district, birth date, sequence 0-99): distinct for every `number` below 4.5 million."""
    district = DISTRICTS[number % len(DISTRICTS)]
    rest = number // len(DISTRICTS)
    return district, FIRST_BIRTH + timedelta(days=(rest // 100) % 9000), rest % 100


def national_id(number: int, female: bool) -> tuple[str, date]:
    """A valid national ID (GB 11643 check digit) and its birth date, unique for every
    `number` below 4.5 million; built as `make_national_id` does, without its checks."""
    district, born, sequence = national_id_parts(number)
    first17 = f"{district}{born:%Y%m%d}{sequence:02d}{(sequence % 5) * 2 + (0 if female else 1)}"
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + ID_CHECK[total % 11], born


def person_id(number: str) -> str:
    """Her id across roles; the registry derives it with its keyed hash, which the bench
    does not hold, so any stable function of the national ID stands in."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jinguo-bench:person:{number}"))


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


Planned = tuple[str, str, type[EventContract], dict[str, Any]]
"""(aggregate, aggregate id, contract, fields)."""


class RegistryEvents:
    """Makes chunks of events; aggregates referenced always exist earlier in the stream.

    Fields are built as plain dicts in the exact shape the contract dumps (checked against
    pydantic for the first event of each type), then sealed with a real `PiiVault` and wrapped
    in the kernel's CloudEvents `Envelope`: building pydantic objects for a million events
    would make the fill, not the replay, the slow part.
    """

    def __init__(
        self,
        vault: PiiVault,
        *,
        seed: int = 2026,
        total: int,
        history_days: int = 3 * 365,
        workers: Sequence[tuple[str, str]] = (),
        agencies: int = AGENCIES,
        person_start: int = 0,
        person_step: int = 1,
    ) -> None:
        self._vault = vault
        self._rng = random.Random(seed)
        self._kinds = [k for k, _ in MIX]
        self._weights = [w for _, w in MIX]
        self.workers: list[tuple[str, str]] = list(workers)
        """(worker_id, area_code) of every worker registered so far."""
        self.residents: list[tuple[str, str]] = []
        self._women: list[tuple[str, date]] = []
        """(national ID, birth date) of women registered as workers: some also register as
        residents, and are then one person across both roles."""
        self._open_spells: list[tuple[str, str, str, str, date]] = []
        """(worker_id, area_code, spell_id, kind, started_on) of spells not ended yet."""
        self._ended_spells: list[tuple[str, str, str, date]] = []
        """(worker_id, area_code, spell_id, ended_on) of spells whose end is not followed yet."""
        self._agency_ids: list[str] = []
        self._agencies = agencies
        self._counter = 0
        self._person = person_start
        self._person_step = person_step
        self._total = max(total, 1)
        self._start = datetime.now(UTC) - timedelta(days=history_days)
        self._span = timedelta(days=history_days)
        self._checked: set[str] = set()
        self.made = 0

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _plan(self, count: int) -> list[Planned]:
        rng = self._rng
        planned: list[Planned] = []
        while len(self._agency_ids) < self._agencies and len(planned) < count:
            agency_id = self._new_id()
            self._agency_ids.append(agency_id)
            district = DISTRICTS[len(self._agency_ids) % len(DISTRICTS)]
            planned.append(
                (
                    "agency",
                    agency_id,
                    AgencyRegisteredV1,
                    {
                        "agency_id": agency_id,
                        "name": f"{district} 妇女联合会 {agency_id[:8]}",
                        "kind": "womens_federation",
                        "area_code": district,
                    },
                )
            )
            if len(planned) < count:
                planned.append(
                    (
                        "agency",
                        agency_id,
                        ApiClientIssuedV1,
                        {
                            "agency_id": agency_id,
                            "client_id": uuid.UUID(self._new_id()).hex,
                            "name": "bench",
                            "key_hash": f"{rng.getrandbits(256):064x}",
                            "scopes": ["registry:read", "registry:write"],
                            "officer_id": None,
                        },
                    )
                )
        for kind in rng.choices(self._kinds, self._weights, k=count - len(planned)):
            planned.append(self._one(kind))
        return planned

    def _one(self, kind: str) -> Planned:
        rng = self._rng
        if kind in WORKER_UPDATES and not self.workers:
            kind = "WorkerRegistered"
        if kind == "ResidentEligibilityChanged" and not self.residents:
            kind = "ResidentRegistered"
        if kind == "ReemploymentSpellEnded" and not self._open_spells:
            kind = "ReemploymentSpellStarted"
        if kind == "UnemploymentReregistered" and not self._ended_spells:
            kind = "ReemploymentSpellStarted"
        if kind in ("ReemploymentSpellEnded", "UnemploymentReregistered"):
            return self._spell_followed(kind)
        if kind == "WorkerRegistered":
            worker_id = self._new_id()
            area = rng.choice(COMMUNITIES)
            female = rng.random() < 0.92
            number, born = national_id(self._person, female)
            self._person += self._person_step
            self.workers.append((worker_id, area))
            if female:
                self._women.append((number, born))
            return (
                "worker",
                worker_id,
                WorkerRegisteredV1,
                {
                    "worker_id": worker_id,
                    "name": person_name(rng),
                    "national_id": number,
                    "gender": "female" if female else "male",
                    "birth_date": born,
                    "phone": phone(rng),
                    "area_code": area,
                    "hukou": "migrant" if rng.random() < 0.15 else "local",
                    "skills": rng.sample(SKILLS, rng.randint(1, 3)),
                    "desired_work": {
                        "occupation_codes": rng.sample(OCCUPATIONS, 1),
                        "hours_types": [rng.choice(HOURS)],
                    },
                    "occurred_on": None,
                    "station_id": None,
                    "person_id": person_id(number),
                },
            )
        if kind == "ResidentRegistered":
            resident_id = self._new_id()
            area = rng.choice(COMMUNITIES)
            if self._women and rng.random() < 0.3:
                number, born = rng.choice(self._women)
            else:
                number, born = national_id(self._person, rng.random() < 0.6)
                self._person += self._person_step
            self.residents.append((resident_id, area))
            return (
                "resident",
                resident_id,
                ResidentRegisteredV1,
                {
                    "resident_id": resident_id,
                    "name": person_name(rng),
                    "national_id": number,
                    "birth_date": born,
                    "phone": phone(rng),
                    "address": f"{rng.randint(1, 99)}号院{rng.randint(1, 8)}单元"
                    f"{rng.randint(101, 1808)}",
                    "area_code": area,
                    "occurred_on": None,
                    "person_id": person_id(number),
                },
            )
        if kind == "ResidentEligibilityChanged":
            resident_id, area = rng.choice(self.residents)
            tier, reason = rng.choice(TIERS)
            return (
                "resident",
                resident_id,
                ResidentEligibilityChangedV1,
                {
                    "resident_id": resident_id,
                    "price_tier": tier,
                    "reason": reason,
                    "valid_until": TODAY + timedelta(days=rng.randint(30, 700)),
                    "area_code": area,
                    "occurred_on": None,
                },
            )
        if kind == "VolunteerRegistered":
            volunteer_id = self._new_id()
            return (
                "volunteer",
                volunteer_id,
                VolunteerRegisteredV1,
                {
                    "volunteer_id": volunteer_id,
                    "name": person_name(rng),
                    "phone": phone(rng),
                    "area_code": rng.choice(COMMUNITIES),
                    "skills": rng.sample(SKILLS, 2),
                    "team": rng.choice([None, "巾帼志愿服务队"]),
                    "occurred_on": None,
                },
            )
        if kind == "ProviderRegistered":
            provider_id = self._new_id()
            return (
                "provider",
                provider_id,
                ProviderRegisteredV1,
                {
                    "provider_id": provider_id,
                    "name": f"{rng.choice(EMPLOYERS)}{rng.randint(1, 999)}分部",
                    "credit_code": f"91{rng.randrange(10**6):06d}{rng.randrange(10**10):010d}",
                    "area_code": rng.choice(COMMUNITIES),
                    "services": rng.sample(SKILLS, 3),
                    "women_led": rng.random() < 0.5,
                    "occurred_on": None,
                },
            )
        worker_id, area = rng.choice(self.workers)
        self._counter += 1
        if kind == "WorkerCategoryAssessed":
            category, evidence = rng.choice(CATEGORIES)
            return (
                "worker",
                worker_id,
                WorkerCategoryAssessedV1,
                {
                    "worker_id": worker_id,
                    "category": category,
                    "evidence": evidence,
                    "valid_until": TODAY + timedelta(days=rng.randint(200, 900)),
                    "area_code": area,
                    "occurred_on": None,
                },
            )
        if kind == "CertificateIssued":
            vocational = rng.random() < 0.5
            return (
                "worker",
                worker_id,
                CertificateIssuedV1,
                {
                    "worker_id": worker_id,
                    "kind": "vocational" if vocational else rng.choice(PLAIN_CERTIFICATES),
                    "number": f"BC{self._counter:09d}",
                    "issued_on": TODAY - timedelta(days=rng.randint(10, 900)),
                    "valid_until": None,
                    "occupation_code": rng.choice(OCCUPATIONS) if vocational else None,
                    "code_system": OCCUPATION_CODE_SYSTEM if vocational else None,
                    "level": rng.randint(3, 5) if vocational else None,
                    "area_code": area,
                    "relief": None,
                },
            )
        if kind == "HomeVisitRecorded":
            return (
                "worker",
                worker_id,
                HomeVisitRecordedV1,
                {
                    "worker_id": worker_id,
                    "visit_id": self._new_id(),
                    "visited_on": TODAY - timedelta(days=rng.randint(1, 900)),
                    "visitor": "社区妇联主席",
                    "notes": "家中老人需照顾，希望就近从事非全日制工作",
                    "area_code": area,
                },
            )
        if kind == "ReemploymentSpellStarted":
            spell_kind = rng.choice(SPELL_KINDS)
            spell_id = self._new_id()
            started_on = TODAY - timedelta(days=rng.randint(1, 900))
            self._open_spells.append((worker_id, area, spell_id, spell_kind, started_on))
            placement = spell_kind == "placement"
            return (
                "worker",
                worker_id,
                ReemploymentSpellStartedV1,
                {
                    "worker_id": worker_id,
                    "spell_id": spell_id,
                    "kind": spell_kind,
                    "started_on": started_on,
                    "area_code": area,
                    "gender": "female",
                    "employer_name": None if spell_kind == "flexible" else rng.choice(EMPLOYERS),
                    "post_id": f"post-{self._counter}" if placement else None,
                    "placement_id": f"placement-{self._counter}" if placement else None,
                    "hours_type": rng.choice(HOURS),
                    "business": None,
                },
            )
        if kind == "UnemploymentBenefitGranted":
            from_on = TODAY - timedelta(days=rng.randint(1, 700))
            return (
                "worker",
                worker_id,
                UnemploymentBenefitGrantedV1,
                {
                    "worker_id": worker_id,
                    "benefit_id": self._new_id(),
                    "from_on": from_on,
                    "until": from_on + timedelta(days=rng.choice((180, 365, 730))),
                    "monthly_yuan": rng.randint(1500, 2300),
                    "area_code": area,
                },
            )
        return (
            "worker",
            worker_id,
            WorkerReemployedV1,
            {
                "worker_id": worker_id,
                "post_id": f"post-{self._counter}",
                "placement_id": f"placement-{self._counter}",
                "employer_name": rng.choice(EMPLOYERS),
                "started_on": TODAY - timedelta(days=rng.randint(1, 900)),
                "area_code": area,
                "gender": "female",
            },
        )

    def _spell_followed(self, kind: str) -> Planned:
        """A spell that started earlier ends, or the end of one makes her unemployed again."""
        rng = self._rng
        if kind == "ReemploymentSpellEnded":
            spells = self._open_spells
            worker_id, area, spell_id, spell_kind, started_on = spells.pop(
                rng.randrange(len(spells))
            )
            ended_on = min(TODAY, started_on + timedelta(days=rng.randint(30, 400)))
            self._ended_spells.append((worker_id, area, spell_id, ended_on))
            return (
                "worker",
                worker_id,
                ReemploymentSpellEndedV1,
                {
                    "worker_id": worker_id,
                    "spell_id": spell_id,
                    "kind": spell_kind,
                    "ended_on": ended_on,
                    "reason": "合同期满",
                    "area_code": area,
                },
            )
        worker_id, area, spell_id, ended_on = self._ended_spells.pop(
            rng.randrange(len(self._ended_spells))
        )
        return (
            "worker",
            worker_id,
            UnemploymentReregisteredV1,
            {
                "worker_id": worker_id,
                "occurred_on": ended_on,
                "area_code": area,
                "after_spell_id": spell_id,
            },
        )

    def _check(self, contract: type[EventContract], fields: dict[str, Any]) -> None:
        """Once per type: the hand-built fields are exactly what the contract would dump."""
        if contract.event_type in self._checked:
            return
        expected = contract.model_validate(fields).model_dump(mode="json")
        if orjson.loads(orjson.dumps(fields)) != expected:
            raise RuntimeError(f"bench builds {contract.event_type} unlike its contract")
        self._checked.add(contract.event_type)

    async def chunk(self, count: int) -> list[Generated]:
        """The next `count` events, PII sealed with each person's key (created as needed)."""
        planned = self._plan(count)
        people = {
            str(fields[contract.pii_subject_field or f"{contract.aggregate}_id"])
            for _, _, contract, fields in planned
            if contract.pii_fields()
        }
        # fresh: re-read every key of the chunk, so that all of them are the newest entries of
        # the vault's cache; it evicts in insertion order, and a key cached long ago could
        # otherwise be evicted by the keys this same call loads
        await self._vault.prepare(people, create=True, fresh=True)
        seal = self._vault.seal
        agency = self._agency_ids[0] if self._agency_ids else None
        out: list[Generated] = []
        for aggregate, aggregate_id, contract, fields in planned:
            self._check(contract, fields)
            data = dict(fields)
            subject_id = fields[contract.pii_subject_field or f"{contract.aggregate}_id"]
            for name in contract.pii_fields():
                if data[name] is not None:
                    data[name] = seal(subject_id, data[name])
            command_id = self._new_id()
            envelope = Envelope(
                id=event_id(command_id, 0),
                source="/jinguo/registry",
                type=contract.event_type,
                subject=aggregate_id,
                # spread over the history in stream order (area reports count by month)
                time=self._start + self._span * (self.made / self._total),
                dataschema=contract.schema_id(),
                schemaversion=contract.version,
                correlationid=command_id,
                agencyid=agency,
                actorid="bench",
                data=data,
            )
            self.made += 1
            out.append(
                Generated(
                    subject=nats_subject("registry", aggregate, aggregate_id, contract.event_type),
                    payload=envelope.to_json(),
                    msg_id=envelope.id,
                    aggregate=aggregate,
                    aggregate_id=aggregate_id,
                    contract=contract,
                    fields=fields,
                )
            )
        return out


Item = tuple[str, bytes, str, str, str]
"""(subject, payload, msg id, aggregate, aggregate id): what a generator process sends."""


AGGREGATES: dict[str, type[Aggregate[Any]]] = {
    "worker": Worker,
    "resident": Resident,
    "provider": Provider,
    "volunteer": Volunteer,
    "agency": Agency,
}


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    index: int
    processes: int
    seed: int
    total: int
    vault_url: str
    master_key: bytes
    track_states: bool
    workers: tuple[tuple[str, str], ...] = ()


def _generator_main(conn: Connection, config: GeneratorConfig) -> None:
    asyncio.run(_generate(conn, config))


async def _generate(conn: Connection, config: GeneratorConfig) -> None:
    """A generator process: answers ("chunk", n), ("states",), ("stop",) until stopped."""
    engine = make_engine(config.vault_url)  # its kernel tables exist (see EventSource)
    maker = RegistryEvents(
        PiiVault(engine, config.master_key),
        seed=config.seed + config.index,
        total=config.total,
        workers=config.workers,
        agencies=AGENCIES if config.index == 0 else 0,
        person_start=config.index,
        person_step=config.processes,
    )
    states: dict[str, tuple[str, Any]] = {}
    if config.track_states:
        for worker_id, area in config.workers:
            states[worker_id] = ("worker", WorkerState(area_code=area, open_spells={}))
    try:
        while True:
            request = conn.recv()
            if request[0] == "chunk":
                made = await maker.chunk(request[1])
                if config.track_states:
                    for g in made:
                        before = states.get(g.aggregate_id)
                        klass = AGGREGATES[g.aggregate]
                        states[g.aggregate_id] = (
                            g.aggregate,
                            klass.evolve(before[1] if before else None, g.event()),
                        )
                conn.send(
                    [(g.subject, g.payload, g.msg_id, g.aggregate, g.aggregate_id) for g in made]
                )
            elif request[0] == "states":
                rows = [
                    (aggregate, aggregate_id, state.model_dump(mode="json"))
                    for aggregate_id, (aggregate, state) in states.items()
                ]
                for start in range(0, len(rows), 20_000):
                    conn.send(rows[start : start + 20_000])
                conn.send(None)
            else:
                conn.send({"workers": len(maker.workers), "residents": len(maker.residents)})
                return
    finally:
        await engine.dispose()


async def create_vault_tables(vault_url: str) -> None:
    """The kernel tables (pii_keys) where generator processes keep the people's keys; made
    once, before they start, as several processes racing to create them would fail."""
    engine = make_engine(vault_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(kernel_metadata.create_all)
    finally:
        await engine.dispose()


class EventSource:
    """Generator processes making disjoint populations of events, read round-robin.

    The kernel tables must exist in `vault_url` (`create_vault_tables`).

    Building and sealing an event costs a few hundred microseconds of Python, more than
    publishing it, so generation runs in separate processes while this one publishes.
    """

    def __init__(
        self,
        total: int,
        vault_url: str,
        *,
        master_key: bytes = MASTER_KEY,
        processes: int = 1,
        seed: int = 2026,
        chunk: int = 5_000,
        track_states: bool = False,
        workers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.total = total
        self.chunk = chunk
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes: list[BaseProcess] = []
        self._remaining: list[int] = []
        for index in range(processes):
            share = total // processes + (1 if index < total % processes else 0)
            parent, child = context.Pipe()
            config = GeneratorConfig(
                index=index,
                processes=processes,
                seed=seed,
                total=share,
                vault_url=vault_url,
                master_key=master_key,
                track_states=track_states,
                workers=tuple(workers) if index == 0 else (),
            )
            process = context.Process(target=_generator_main, args=(child, config), daemon=True)
            process.start()
            self._pipes.append(parent)
            self._processes.append(process)
            self._remaining.append(share)
        self.counts: dict[str, int] = {}

    def _ask(self, index: int) -> bool:
        n = min(self.chunk, self._remaining[index])
        if n <= 0:
            return False
        self._remaining[index] -= n
        self._pipes[index].send(("chunk", n))
        return True

    async def chunks(self) -> AsyncIterator[list[Item]]:
        """Every chunk, round-robin over the processes; each already asked for its next one."""
        waiting = [index for index in range(len(self._pipes)) if self._ask(index)]
        while waiting:
            index = waiting.pop(0)
            items: list[Item] = await asyncio.to_thread(self._pipes[index].recv)
            if self._ask(index):
                waiting.append(index)
            yield items

    async def states(self) -> AsyncIterator[list[tuple[str, str, dict[str, Any]]]]:
        """Every aggregate's final decision state (when tracked), in parts."""
        for pipe in self._pipes:
            pipe.send(("states",))
            while (part := await asyncio.to_thread(pipe.recv)) is not None:
                yield part

    async def close(self) -> None:
        for pipe in self._pipes:
            pipe.send(("stop",))
            counts = await asyncio.to_thread(pipe.recv)
            for name, value in counts.items():
                self.counts[name] = self.counts.get(name, 0) + value
        for process in self._processes:
            await asyncio.to_thread(process.join, 10)


class Publisher:
    """Publishes in order with up to `in_flight` acks outstanding and no expected-sequence
    header, as a bulk load does.

    Plain `nc.publish` with a reply subject per message and one subscription for the acks:
    nats-py's `publish_async` (a future, a semaphore and a token per message) managed less than
    half the rate on the benchmark machine.
    """

    def __init__(self, nc: NatsClient, in_flight: int = 256, *, keep_seqs: bool = True) -> None:
        self._nc = nc
        self._keep_seqs = keep_seqs
        self._in_flight = in_flight
        self._inbox = str(nc.new_inbox())
        self._outstanding = 0
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._next = 0
        self.seqs: dict[int, int] = {}
        """Stream sequence of each published message, by publishing order (from 0)."""
        self.errors: list[str] = []
        self.duplicates = 0
        self._subscription: Any = None

    async def _on_ack(self, message: Any) -> None:
        index = int(message.subject.rsplit(".", 1)[1])
        answer = orjson.loads(message.data)
        if "error" in answer:
            self.errors.append(f"message {index}: {answer['error']}")
        else:
            if self._keep_seqs:
                self.seqs[index] = int(answer["seq"])
            if answer.get("duplicate"):
                self.duplicates += 1
        self._outstanding -= 1
        if self._outstanding < self._in_flight:
            self._room.set()
        if self._outstanding == 0:
            self._idle.set()

    async def publish(self, items: Sequence[Item]) -> range:
        """Send the events (waiting only for room in the window); returns their indexes."""
        if self._subscription is None:
            self._subscription = await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_ack)
        first = self._next
        for subject, payload, msg_id, _, _ in items:
            while self._outstanding >= self._in_flight:
                self._room.clear()
                await self._room.wait()
            self._outstanding += 1
            self._idle.clear()
            await self._nc.publish(
                subject,
                payload,
                reply=f"{self._inbox}.{self._next}",
                headers={"Nats-Msg-Id": msg_id},
            )
            self._next += 1
        return range(first, self._next)

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait for every ack; raise if the server refused any message."""
        await self._nc.flush()
        await asyncio.wait_for(self._idle.wait(), timeout)
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} publishes refused, e.g. {self.errors[0]}")

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
