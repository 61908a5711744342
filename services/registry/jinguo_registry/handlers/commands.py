"""The registry's commands: validated input, and one handler per command."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from jinguo_contracts.access import AgencyKind
from jinguo_contracts.orders import ServiceCategory
from jinguo_contracts.registry import (
    Category,
    CertificateKind,
    DesiredWork,
    EligibilityReason,
    HoursType,
    PriceTier,
    TaxRelief,
)
from jinguo_registry.domain.organisations import Agency, Grantor, Provider, Volunteer
from jinguo_registry.domain.resident import Resident
from jinguo_registry.domain.validation import AreaCode, MobileNumber, NationalId, OccupationCode
from jinguo_registry.domain.worker import Worker
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.crypto import KeyedHasher, PiiVault
from jinguo_shared.domain import Aggregate, DomainError, NotFoundError
from jinguo_shared.envelope import CommandContext
from jinguo_shared.http.security import key_hash, new_api_key

AggregateT = TypeVar("AggregateT", bound=Aggregate[Any])
Name = Field(min_length=1, max_length=100)
Text = Field(min_length=1, max_length=2000)
Skill = Annotated[str, Field(min_length=1, max_length=50)]
ServiceCode = Annotated[str, Field(min_length=1, max_length=50)]
SERVICE_KINDS: frozenset[str] = frozenset(get_args(ServiceCategory))
"""The kinds of service the orders catalogue offers (published with its contracts): a provider
offers kinds, and dispatch matches it to an order by the kind of the service ordered."""


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


OccurredOn = Field(
    default=None,
    description="the day it happened, in the programme's time zone (default: today); a past"
    " year's records are entered with their own dates",
)


class DesiredWorkInput(Command):
    occupation_codes: list[OccupationCode] = Field(default_factory=list, max_length=20)
    hours_types: list[HoursType] = Field(default_factory=list, max_length=5)

    def contract(self) -> DesiredWork:
        return DesiredWork(occupation_codes=self.occupation_codes, hours_types=self.hours_types)


class RegisterWorker(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "王秀兰",
                    "national_id": "110101197803141245",
                    "phone": "13812345678",
                    "area_code": "110101001001",
                    "hukou": "local",
                    "skills": ["养老护理", "家政服务"],
                    "desired_work": {
                        "occupation_codes": ["4-10-01-05"],
                        "hours_types": ["full_time"],
                    },
                }
            ]
        }
    )

    name: str = Name
    national_id: NationalId
    phone: MobileNumber
    area_code: AreaCode
    hukou: Literal["local", "migrant"] = "local"
    skills: list[Skill] = Field(default_factory=list, max_length=30)
    desired_work: DesiredWorkInput = Field(default_factory=DesiredWorkInput)
    occurred_on: date | None = OccurredOn
    station_id: str | None = Field(
        default=None,
        max_length=64,
        description="the station that took her registration: of her community or above it",
    )


class UpdateWorkerProfile(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"phone": "13912345678", "skills": ["养老护理", "母婴护理"]}]
        }
    )

    phone: MobileNumber | None = None
    area_code: AreaCode | None = None
    skills: list[Skill] | None = Field(default=None, max_length=30)
    desired_work: DesiredWorkInput | None = None


class AssessCategory(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "age_40_50",
                    "evidence": "身份证与失业登记证核验：1978年生，失业登记满6个月",
                    "valid_until": "2027-12-31",
                }
            ]
        }
    )

    category: Category
    evidence: str = Text
    valid_until: date
    occurred_on: date | None = OccurredOn


class IssueCertificate(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "tax_relief",
                    "number": "BJDC-2026-00418",
                    "issued_on": "2026-03-02",
                    "valid_until": "2027-09-01",
                    "relief": {
                        "months": 18,
                        "taxes": [
                            "business_tax_or_vat",
                            "urban_maintenance_construction_tax",
                            "education_surcharge",
                            "personal_income_tax",
                        ],
                        "business_name": "东四秀兰家政服务部",
                        "licence_no": "92110101MA01ABCD2X",
                        "tax_office": "国家税务总局北京市东城区税务局",
                    },
                }
            ]
        }
    )

    kind: CertificateKind
    number: str = Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    issued_on: date
    valid_until: date | None = None
    occupation_code: OccupationCode | None = None
    level: int | None = Field(default=None, ge=1, le=5)
    relief: TaxRelief | None = Field(
        default=None, description="required for a tax_relief certificate (明白卡), only for it"
    )


class RevokeCertificate(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "持证人已实现稳定就业满一年，按规定收回"}]}
    )

    reason: str = Text
    occurred_on: date | None = OccurredOn


class RecordHomeVisit(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "visited_on": "2026-04-10",
                    "visitor": "李春梅",
                    "notes": "入户走访，了解求职意愿：希望从事社区养老护理，可全职",
                }
            ]
        }
    )

    visited_on: date
    visitor: str = Name
    notes: str = Text


class RecordReemployment(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "post_id": "b1d4e7f0-2a3b-4c5d-8e9f-0a1b2c3d4e5f",
                    "placement_id": "e8f9a0b1-c2d3-4e5f-a6b7-c8d9e0f1a2b3",
                    "employer_name": "东四社区养老驿站",
                    "started_on": "2026-05-06",
                }
            ]
        }
    )

    post_id: str = Field(min_length=1, max_length=64)
    placement_id: str = Field(min_length=1, max_length=64)
    employer_name: str = Name
    started_on: date


class Erase(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "本人申请删除个人信息（个人信息保护法第四十七条）"}]
        }
    )

    reason: str = Text


class RegisterResident(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "赵淑珍",
                    "national_id": "110101194611032120",
                    "phone": "13701234567",
                    "area_code": "110101001001",
                    "address": "北京市东城区东四街道东四六条12号",
                }
            ]
        }
    )

    name: str = Name
    national_id: NationalId
    phone: MobileNumber
    area_code: AreaCode
    address: str = Field(min_length=2, max_length=300)
    occurred_on: date | None = OccurredOn


class ChangeEligibility(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "price_tier": "free",
                    "reason": "minimum_living_allowance",
                    "valid_until": "2026-12-31",
                }
            ]
        }
    )

    price_tier: PriceTier
    reason: EligibilityReason
    valid_until: date | None = None
    occurred_on: date | None = OccurredOn


class RegisterProvider(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "北京东城巾帼家政服务有限公司",
                    "credit_code": "91110101MA01234567",
                    "area_code": "110101001",
                    "services": ["housekeeping", "elderly_care"],
                    "women_led": True,
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
    area_code: AreaCode
    services: list[ServiceCode] = Field(
        default_factory=list,
        max_length=30,
        description="kinds of service it offers, from the orders catalogue's kinds: "
        + ", ".join(get_args(ServiceCategory)),
    )
    women_led: bool = False
    occurred_on: date | None = OccurredOn

    @field_validator("services")
    @classmethod
    def _known_kinds(cls, services: list[str]) -> list[str]:
        unknown = sorted(set(services) - SERVICE_KINDS)
        if unknown:
            raise ValueError(
                f"no kind of service in the catalogue is called {', '.join(unknown)}"
                f" (known: {', '.join(sorted(SERVICE_KINDS))})"
            )
        return services


class GradeProvider(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"grade": 4, "graded_on": "2026-06-15", "assessor": "东城区家政服务等级评定组"}
            ]
        }
    )

    grade: int = Field(ge=1, le=5)
    graded_on: date
    assessor: str = Name


class SuspendProvider(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "服务人员未持健康证上岗，暂停派单待整改"}]}
    )

    reason: str = Text
    occurred_on: date | None = OccurredOn


class ReinstateProvider(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "整改验收合格，恢复派单"}]}
    )

    reason: str = Text
    occurred_on: date | None = OccurredOn


class RegisterVolunteer(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "刘桂芳",
                    "phone": "13601234567",
                    "area_code": "110101001001",
                    "skills": ["助餐", "陪诊"],
                    "team": "东四巾帼志愿服务队",
                }
            ]
        }
    )

    name: str = Name
    phone: MobileNumber
    area_code: AreaCode
    skills: list[Skill] = Field(default_factory=list, max_length=30)
    team: str | None = Field(default=None, max_length=100)
    occurred_on: date | None = OccurredOn


class RegisterAgency(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "东城区妇女联合会", "kind": "womens_federation", "area_code": "110101"}
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind
    area_code: AreaCode


OfficerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
Scope = Annotated[str, Field(min_length=1, max_length=40)]
MAX_GRACE_SECONDS = 30 * 24 * 3600


class IssueApiClient(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "东城区妇联维权热线系统",
                    "scopes": ["rights:read", "rights:write"],
                    "officer_id": "chen.li",
                }
            ]
        }
    )

    name: str = Name
    scopes: list[Scope] = Field(min_length=1, max_length=20)
    officer_id: OfficerId | None = Field(
        default=None, description="the officer (经办人) who holds this key and acts with it"
    )

    @model_validator(mode="after")
    def _distinct(self) -> IssueApiClient:
        if len(set(self.scopes)) != len(self.scopes):
            raise ValueError("scopes must not repeat")
        return self


class RevokeApiClient(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "密钥疑似泄露，已换发新密钥"}]}
    )

    reason: str = Text


class RotateApiKey(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [{"grace_seconds": 86400}]})

    grace_seconds: int = Field(
        ge=0, le=MAX_GRACE_SECONDS, description="how long the key it replaces still works"
    )


FieldName = Annotated[str, Field(min_length=1, max_length=40)]


class GrantPersonalData(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fields": ["name", "phone"],
                    "purpose": "区人社局就业援助：联系登记失业的困难人员安排上门服务",
                    "valid_until": "2027-12-31T23:59:59+08:00",
                }
            ]
        }
    )

    fields: list[FieldName] = Field(
        min_length=1,
        max_length=20,
        description='personal fields of the service\'s events, e.g. ["name", "phone"]; ["*"]: all',
    )
    purpose: str = Field(
        min_length=10, max_length=500, description="why the client needs them (recorded)"
    )
    valid_until: AwareDatetime | None = Field(
        default=None, description="when the grant ends by itself; none: when withdrawn"
    )

    @field_validator("fields")
    @classmethod
    def _distinct(cls, fields: list[str]) -> list[str]:
        if len(set(fields)) != len(fields):
            raise ValueError("fields must not repeat")
        return fields


class WithdrawPersonalData(Command):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "援助项目结束，不再需要联系方式"}]}
    )

    reason: str = Text


class RegisteredElsewhereError(DomainError):
    """A registration met a record outside the caller's jurisdiction: saying so is all the
    caller learns, neither its id nor where it is."""

    code = "registered-elsewhere"
    status = 409


def derived_id(namespace: str, value: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jinguo:{namespace}:{value}"))


class RegistryHandlers:
    """One method per command. `today` is the programme's day (`runtime.clock.today`, in its
    time zone), never the server's UTC date."""

    def __init__(
        self,
        executor: CommandExecutor,
        hasher: KeyedHasher,
        vault: PiiVault,
        today: Callable[[], date],
    ) -> None:
        self._executor = executor
        self._hasher = hasher
        self._vault = vault
        self._today = today

    def worker_id_for(self, national_id: str) -> str:
        """From a keyed hash: the same person always maps to the same worker, and nobody can
        go from the id back to the number without the lookup key."""
        return str(uuid.UUID(self._hasher.digest(f"worker:{national_id}")[:32]))

    def resident_id_for(self, national_id: str) -> str:
        return str(uuid.UUID(self._hasher.digest(f"resident:{national_id}")[:32]))

    def person_id_for(self, national_id: str) -> str:
        """Her id across roles, from the same keyed hash: a worker and a resident with one
        national ID are one person, and neither role's id leads to the other without the key."""
        return str(uuid.UUID(self._hasher.digest(f"person:{national_id}")[:32]))

    async def _register(
        self,
        aggregate_class: type[AggregateT],
        aggregate_id: str,
        decide: Callable[[AggregateT], None],
        ctx: CommandContext,
        key: IdempotencyKey | None,
        who: str,
    ) -> CommandResult:
        try:
            return await self._executor.execute(aggregate_class, aggregate_id, decide, ctx, key)
        except NotFoundError:  # registering finds nothing missing: the record is out of sight
            raise RegisteredElsewhereError(
                f"{who} is already registered outside your agency's jurisdiction; the agency"
                " that registered it can change its area"
            ) from None

    async def register_worker(
        self, c: RegisterWorker, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._register(
            Worker,
            self.worker_id_for(c.national_id),
            lambda w: w.register(
                name=c.name,
                national_id=c.national_id,
                phone=c.phone,
                area_code=c.area_code,
                hukou=c.hukou,
                skills=c.skills,
                desired_work=c.desired_work.contract(),
                on=c.occurred_on or today,
                today=today,
                station_id=c.station_id,
                person_id=self.person_id_for(c.national_id),
            ),
            ctx,
            key,
            "a worker with this national ID",
        )

    async def update_worker_profile(
        self,
        worker_id: str,
        c: UpdateWorkerProfile,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        return await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.update_profile(
                phone=c.phone,
                area_code=c.area_code,
                skills=c.skills,
                desired_work=c.desired_work.contract() if c.desired_work else None,
            ),
            ctx,
            key,
        )

    async def assess_category(
        self,
        worker_id: str,
        c: AssessCategory,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.assess_category(
                category=c.category,
                evidence=c.evidence,
                valid_until=c.valid_until,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def issue_certificate(
        self,
        worker_id: str,
        c: IssueCertificate,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.issue_certificate(
                kind=c.kind,
                number=c.number,
                issued_on=c.issued_on,
                valid_until=c.valid_until,
                occupation_code=c.occupation_code,
                level=c.level,
                today=today,
                relief=c.relief,
            ),
            ctx,
            key,
        )

    async def revoke_certificate(
        self,
        worker_id: str,
        number: str,
        c: RevokeCertificate,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.revoke_certificate(
                number=number, reason=c.reason, on=c.occurred_on or today, today=today
            ),
            ctx,
            key,
        )

    async def record_home_visit(
        self,
        worker_id: str,
        c: RecordHomeVisit,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        visit_id = derived_id("visit", ctx.command_id)
        return await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.record_home_visit(
                visit_id=visit_id,
                visited_on=c.visited_on,
                visitor=c.visitor,
                notes=c.notes,
                today=today,
            ),
            ctx,
            key,
        )

    async def erase_worker(
        self, worker_id: str, c: Erase, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        result = await self._executor.execute(
            Worker, worker_id, lambda w: w.erase(reason=c.reason), ctx, key
        )
        await self._vault.erase(worker_id)
        return result

    async def register_resident(
        self, c: RegisterResident, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._register(
            Resident,
            self.resident_id_for(c.national_id),
            lambda r: r.register(
                name=c.name,
                national_id=c.national_id,
                phone=c.phone,
                address=c.address,
                area_code=c.area_code,
                on=c.occurred_on or today,
                today=today,
                person_id=self.person_id_for(c.national_id),
            ),
            ctx,
            key,
            "a resident with this national ID",
        )

    async def change_eligibility(
        self,
        resident_id: str,
        c: ChangeEligibility,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Resident,
            resident_id,
            lambda r: r.change_eligibility(
                price_tier=c.price_tier,
                reason=c.reason,
                valid_until=c.valid_until,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def erase_resident(
        self, resident_id: str, c: Erase, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        result = await self._executor.execute(
            Resident, resident_id, lambda r: r.erase(reason=c.reason), ctx, key
        )
        await self._vault.erase(resident_id)
        return result

    async def register_provider(
        self, c: RegisterProvider, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._register(
            Provider,
            derived_id("provider", c.credit_code),
            lambda p: p.register(
                name=c.name,
                credit_code=c.credit_code,
                area_code=c.area_code,
                services=c.services,
                women_led=c.women_led,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
            "a provider with this credit code",
        )

    async def grade_provider(
        self,
        provider_id: str,
        c: GradeProvider,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Provider,
            provider_id,
            lambda p: p.grade(
                grade=c.grade, graded_on=c.graded_on, assessor=c.assessor, today=today
            ),
            ctx,
            key,
        )

    async def suspend_provider(
        self,
        provider_id: str,
        c: SuspendProvider,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Provider,
            provider_id,
            lambda p: p.suspend(reason=c.reason, on=c.occurred_on or today, today=today),
            ctx,
            key,
        )

    async def reinstate_provider(
        self,
        provider_id: str,
        c: ReinstateProvider,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Provider,
            provider_id,
            lambda p: p.reinstate(reason=c.reason, on=c.occurred_on or today, today=today),
            ctx,
            key,
        )

    async def register_volunteer(
        self, c: RegisterVolunteer, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Volunteer,
            derived_id("volunteer", ctx.command_id),
            lambda v: v.register(
                name=c.name,
                phone=c.phone,
                area_code=c.area_code,
                skills=c.skills,
                team=c.team,
                on=c.occurred_on or today,
                today=today,
            ),
            ctx,
            key,
        )

    async def register_agency(
        self, c: RegisterAgency, ctx: CommandContext, key: IdempotencyKey | None = None
    ) -> CommandResult:
        return await self._executor.execute(
            Agency,
            derived_id("agency", ctx.command_id),
            lambda a: a.register(name=c.name, kind=c.kind, area_code=c.area_code),
            ctx,
            key,
        )

    async def issue_api_client(
        self,
        agency_id: str,
        c: IssueApiClient,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        *,
        grantor: Grantor,
    ) -> tuple[CommandResult, str, str]:
        """Returns the result, the client id and the key (shown this once)."""
        client_id = uuid.UUID(derived_id("client", ctx.command_id)).hex
        api_key = new_api_key(client_id)
        result = await self._executor.execute(
            Agency,
            agency_id,
            lambda a: a.issue_client(
                client_id=client_id,
                name=c.name,
                key_hash=key_hash(api_key),
                scopes=c.scopes,
                officer_id=c.officer_id,
                grantor=grantor,
            ),
            ctx,
            key,
        )
        return result, client_id, api_key

    async def rotate_api_key(
        self,
        agency_id: str,
        client_id: str,
        c: RotateApiKey,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        *,
        grantor: Grantor,
    ) -> tuple[CommandResult, str, datetime]:
        """Returns the result, the new key (shown this once) and until when the old one works."""
        api_key = new_api_key(client_id)
        previous_valid_until = datetime.now(UTC) + timedelta(seconds=c.grace_seconds)
        result = await self._executor.execute(
            Agency,
            agency_id,
            lambda a: a.rotate_key(
                client_id=client_id,
                key_hash=key_hash(api_key),
                previous_valid_until=previous_valid_until,
                grantor=grantor,
            ),
            ctx,
            key,
        )
        return result, api_key, previous_valid_until

    async def revoke_api_client(
        self,
        agency_id: str,
        client_id: str,
        c: RevokeApiClient,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        *,
        grantor: Grantor,
    ) -> CommandResult:
        return await self._executor.execute(
            Agency,
            agency_id,
            lambda a: a.revoke_client(client_id=client_id, reason=c.reason, grantor=grantor),
            ctx,
            key,
        )

    async def grant_personal_data(
        self,
        agency_id: str,
        client_id: str,
        data_service: str,
        c: GrantPersonalData,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        *,
        grantor: Grantor,
    ) -> CommandResult:
        now = datetime.now(UTC)
        return await self._executor.execute(
            Agency,
            agency_id,
            lambda a: a.grant_personal_data(
                client_id=client_id,
                data_service=data_service,
                fields=c.fields,
                purpose=c.purpose,
                valid_until=c.valid_until,
                now=now,
                grantor=grantor,
            ),
            ctx,
            key,
        )

    async def withdraw_personal_data(
        self,
        agency_id: str,
        client_id: str,
        data_service: str,
        c: WithdrawPersonalData,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
        *,
        grantor: Grantor,
    ) -> CommandResult:
        return await self._executor.execute(
            Agency,
            agency_id,
            lambda a: a.withdraw_personal_data(
                client_id=client_id, data_service=data_service, reason=c.reason, grantor=grantor
            ),
            ctx,
            key,
        )
