"""Events published by the registry service on `registry.>` (stream REGISTRY). Its agencies and
API clients are the kernel's access contract, in `jinguo_contracts.access`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from jinguo_contracts.base import CATALOGUE, EventContract, OptionalPii, Pii

Category = Literal[
    "age_40_50",
    "disabled",
    "zero_employment_household",
    "minimum_living_allowance",
    "long_term_unemployed",
]
CertificateKind = Literal[
    "employment_unemployment", "reemployment_preference", "tax_relief", "vocational"
]
HoursType = Literal["full_time", "part_time", "hourly", "seasonal", "temporary"]
PriceTier = Literal["free", "low_cost", "market"]
EligibilityReason = Literal[
    "minimum_living_allowance", "extreme_poverty", "entitled_group", "elderly_living_alone", "none"
]
OCCUPATION_CODE_SYSTEM = "GB/T 6565-2015"


class DesiredWork(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    occupation_codes: list[str] = Field(default_factory=list, description="GB/T 6565 codes")
    hours_types: list[HoursType] = Field(default_factory=list)


class _Worker(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "worker"
    worker_id: str


class WorkerRegisteredV1(_Worker):
    """A woman (or other hard-to-employ person) joins the programme: 登记."""

    event_type: ClassVar[str] = "WorkerRegistered"
    name: Pii
    national_id: Pii
    gender: Literal["female", "male"]
    birth_date: date
    phone: Pii
    area_code: str = Field(description="12-digit community code (GB/T 2260 + statistical code)")
    hukou: Literal["local", "migrant"]
    skills: list[str] = Field(default_factory=list)
    desired_work: DesiredWork = Field(default_factory=DesiredWork)
    occurred_on: date | None = Field(
        default=None,
        description="the day it happened (programme time zone); absent on events recorded"
        " before business dates: the day the log recorded it counts",
    )
    station_id: str | None = Field(
        default=None, description="the station that took the registration (妇女之家, 劳动保障站…)"
    )


class WorkerProfileUpdatedV1(_Worker):
    event_type: ClassVar[str] = "WorkerProfileUpdated"
    phone: OptionalPii
    area_code: str | None = None
    skills: list[str] | None = None
    desired_work: DesiredWork | None = None


class WorkerCategoryAssessedV1(_Worker):
    """A hard-to-employ status (就业困难人员认定), with its evidence and expiry."""

    event_type: ClassVar[str] = "WorkerCategoryAssessed"
    category: Category
    evidence: Pii
    valid_until: date
    area_code: str
    occurred_on: date | None = Field(
        default=None,
        description="the day it happened (programme time zone); absent on events recorded"
        " before business dates: the day the log recorded it counts",
    )


class CertificateIssuedV1(_Worker):
    event_type: ClassVar[str] = "CertificateIssued"
    business_date_field: ClassVar[str] = "issued_on"
    kind: CertificateKind
    number: str
    issued_on: date
    valid_until: date | None = None
    occupation_code: str | None = None
    code_system: str | None = None
    level: int | None = Field(default=None, ge=1, le=5)
    area_code: str


class CertificateRevokedV1(_Worker):
    event_type: ClassVar[str] = "CertificateRevoked"
    kind: CertificateKind
    number: str
    reason: str
    area_code: str
    occurred_on: date | None = Field(
        default=None,
        description="the day it happened (programme time zone); absent on events recorded"
        " before business dates: the day the log recorded it counts",
    )


class HomeVisitRecordedV1(_Worker):
    """入户走访."""

    event_type: ClassVar[str] = "HomeVisitRecorded"
    business_date_field: ClassVar[str] = "visited_on"
    visit_id: str
    visited_on: date
    visitor: str
    notes: Pii
    area_code: str | None = Field(
        default=None, description="absent on events recorded before it was carried"
    )


class WorkerReemployedV1(_Worker):
    event_type: ClassVar[str] = "WorkerReemployed"
    business_date_field: ClassVar[str] = "started_on"
    post_id: str
    placement_id: str
    employer_name: str
    started_on: date
    area_code: str
    gender: Literal["female", "male"] | None = Field(
        default=None, description="absent on events recorded before it was carried"
    )


class WorkerErasedV1(_Worker):
    """The person's key is destroyed with this event: their PII in the log becomes unreadable."""

    event_type: ClassVar[str] = "WorkerErased"
    reason: str


class _Resident(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "resident"
    resident_id: str


class ResidentRegisteredV1(_Resident):
    event_type: ClassVar[str] = "ResidentRegistered"
    name: Pii
    national_id: Pii
    birth_date: date
    phone: Pii
    address: Pii
    area_code: str
    occurred_on: date | None = Field(
        default=None,
        description="the day it happened (programme time zone); absent on events recorded"
        " before business dates: the day the log recorded it counts",
    )


class ResidentEligibilityChangedV1(_Resident):
    """Whether the resident's services are free (低保/特困/优抚), low-cost or at market price."""

    event_type: ClassVar[str] = "ResidentEligibilityChanged"
    price_tier: PriceTier
    reason: EligibilityReason
    valid_until: date | None = None
    area_code: str
    occurred_on: date | None = Field(
        default=None,
        description="the day it happened (programme time zone); absent on events recorded"
        " before business dates: the day the log recorded it counts",
    )


class ResidentErasedV1(_Resident):
    event_type: ClassVar[str] = "ResidentErased"
    reason: str


class _Provider(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "provider"
    provider_id: str


class ProviderRegisteredV1(_Provider):
    event_type: ClassVar[str] = "ProviderRegistered"
    name: str
    credit_code: str = Field(description="18-character unified social credit code")
    area_code: str
    services: list[str] = Field(default_factory=list)
    women_led: bool = Field(description="妇字号 entity")
    occurred_on: date | None = Field(
        default=None,
        description="the day it happened (programme time zone); absent on events recorded"
        " before business dates: the day the log recorded it counts",
    )


class ProviderGradedV1(_Provider):
    """Grade under GB/T 31772 (家政服务机构等级划分及评价), 1 to 5."""

    event_type: ClassVar[str] = "ProviderGraded"
    business_date_field: ClassVar[str] = "graded_on"
    grade: int = Field(ge=1, le=5)
    graded_on: date
    assessor: str


class ProviderSuspendedV1(_Provider):
    event_type: ClassVar[str] = "ProviderSuspended"
    reason: str
    occurred_on: date | None = Field(
        default=None,
        description="the day it happened (programme time zone); absent on events recorded"
        " before business dates: the day the log recorded it counts",
    )


class VolunteerRegisteredV1(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "volunteer"
    event_type: ClassVar[str] = "VolunteerRegistered"
    volunteer_id: str
    name: Pii
    phone: Pii
    area_code: str
    skills: list[str] = Field(default_factory=list)
    team: str | None = None
    occurred_on: date | None = Field(
        default=None,
        description="the day it happened (programme time zone); absent on events recorded"
        " before business dates: the day the log recorded it counts",
    )


CATALOGUE.register(
    WorkerRegisteredV1,
    WorkerProfileUpdatedV1,
    WorkerCategoryAssessedV1,
    CertificateIssuedV1,
    CertificateRevokedV1,
    HomeVisitRecordedV1,
    WorkerReemployedV1,
    WorkerErasedV1,
    ResidentRegisteredV1,
    ResidentEligibilityChangedV1,
    ResidentErasedV1,
    ProviderRegisteredV1,
    ProviderGradedV1,
    ProviderSuspendedV1,
    VolunteerRegisteredV1,
)
