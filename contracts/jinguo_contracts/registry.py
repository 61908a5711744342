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
    person_id: str | None = Field(
        default=None,
        description="the person across her roles (worker, resident, household member): the same"
        " national ID gives the same id; absent on registrations recorded before it was carried",
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


TaxKind = Literal[
    "business_tax_or_vat",
    "urban_maintenance_construction_tax",
    "education_surcharge",
    "local_education_surcharge",
    "personal_income_tax",
]
"""The taxes a 明白卡 relieves: 营业税 (增值税 since 营改增), 城市维护建设税, 教育费附加,
地方教育附加 and 个人所得税, the closed list of the relief for laid-off workers who set up on
their own."""


class TaxRelief(BaseModel):
    """What a 明白卡 (tax_relief certificate) grants: months of relief (18 = 减免一年半税收) on the
    listed taxes, for one business, administered by one tax office."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    months: int = Field(ge=1, le=60, description="how long the relief lasts from `issued_on`")
    taxes: list[TaxKind] = Field(min_length=1, max_length=5)
    business_name: str = Field(min_length=1, max_length=200)
    licence_no: str | None = Field(
        default=None, max_length=40, description="营业执照 number (unified social credit code)"
    )
    tax_office: str = Field(min_length=1, max_length=200, description="主管税务机关")


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
    relief: TaxRelief | None = Field(
        default=None,
        description="tax_relief only, and always on those issued since it was carried",
    )


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


ReviewOutcome = Literal["renewed", "withdrawn"]


class CertificateReviewedV1(_Worker):
    """年审: the annual review of a certificate, renewed to a new `valid_until` or withdrawn
    (she no longer qualifies) with its reason; a withdrawn certificate is no longer valid."""

    event_type: ClassVar[str] = "CertificateReviewed"
    business_date_field: ClassVar[str] = "reviewed_on"
    kind: CertificateKind
    number: str
    reviewed_on: date
    outcome: ReviewOutcome
    valid_until: date | None = Field(default=None, description="renewed: the new end")
    reason: str | None = Field(default=None, description="withdrawn: why")
    area_code: str


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
    """Recorded before spells existed; a reader takes it as a placement spell started."""

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


SpellKind = Literal["placement", "found_herself", "flexible", "self_employed", "business"]
"""How she works again: a placement through Jinguo, a job she found herself, flexible work
(灵活就业), self-employment (个体经营) or a business she started (私营企业)."""


class BusinessStarted(BaseModel):
    """The business of a self-employed woman or of one who started a company."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    licence_no: str | None = Field(
        default=None, max_length=40, description="营业执照 number (unified social credit code)"
    )
    trade: str = Field(min_length=1, max_length=100, description="行业, e.g. 餐饮, 家政")
    jobs_created: int = Field(default=0, ge=0, description="jobs it gives besides her own")


class ReemploymentSpellStartedV1(_Worker):
    """再就业: a period of work begins, of any kind; she counts once per spell."""

    event_type: ClassVar[str] = "ReemploymentSpellStarted"
    business_date_field: ClassVar[str] = "started_on"
    spell_id: str
    kind: SpellKind
    started_on: date
    area_code: str
    gender: Literal["female", "male"]
    employer_name: str | None = Field(default=None, description="for placement and found_herself")
    post_id: str | None = Field(default=None, description="a placement through Jinguo only")
    placement_id: str | None = Field(default=None, description="a placement through Jinguo only")
    hours_type: HoursType | None = None
    business: BusinessStarted | None = Field(
        default=None, description="for self_employed and business"
    )


class ReemploymentSpellEndedV1(_Worker):
    """The period of work ends; she is unemployed again from `ended_on` (失业)."""

    event_type: ClassVar[str] = "ReemploymentSpellEnded"
    business_date_field: ClassVar[str] = "ended_on"
    spell_id: str
    kind: SpellKind
    ended_on: date
    reason: str = Field(min_length=1, max_length=500)
    area_code: str


class UnemploymentReregisteredV1(_Worker):
    """失业再登记: registered as unemployed again after a spell ended."""

    event_type: ClassVar[str] = "UnemploymentReregistered"
    occurred_on: date
    area_code: str
    after_spell_id: str | None = Field(default=None, description="the spell whose end it follows")


class UnemploymentBenefitGrantedV1(_Worker):
    """领失业金: she draws unemployment-insurance benefit from `from_on` up to `until`."""

    event_type: ClassVar[str] = "UnemploymentBenefitGranted"
    business_date_field: ClassVar[str] = "from_on"
    benefit_id: str
    from_on: date = Field(description="the first day she draws it")
    until: date = Field(description="the last day she may draw it; past it she draws nothing")
    monthly_yuan: int = Field(gt=0, description="the benefit paid per month, whole yuan")
    area_code: str


class UnemploymentBenefitEndedV1(_Worker):
    """Her benefit stops before `until` (a job, moving away, refusing offers…)."""

    event_type: ClassVar[str] = "UnemploymentBenefitEnded"
    business_date_field: ClassVar[str] = "ended_on"
    benefit_id: str
    ended_on: date
    reason: str = Field(min_length=1, max_length=500)
    area_code: str


class WorkerErasedV1(_Worker):
    """The person's key is destroyed with this event: their PII in the log becomes unreadable."""

    event_type: ClassVar[str] = "WorkerErased"
    erases_person: ClassVar[bool] = True
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
    person_id: str | None = Field(
        default=None,
        description="the person across her roles (worker, resident, household member): the same"
        " national ID gives the same id; absent on registrations recorded before it was carried",
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
    erases_person: ClassVar[bool] = True
    reason: str


Relation = Literal["head", "spouse", "child", "parent", "sibling", "grandchild", "other"]
"""A member's relation to the head of the household (户主)."""


class _Household(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "household"
    household_id: str
    area_code: str = Field(description="12-digit community code of the household")


class HouseholdRegisteredV1(_Household):
    """A household (家庭户) the programme follows: who lives together, whether anyone works."""

    event_type: ClassVar[str] = "HouseholdRegistered"
    address: Pii
    occurred_on: date


class HouseholdMemberJoinedV1(_Household):
    """A person (by her person id) lives in the household from `occurred_on`; she belongs to
    one household at a time."""

    event_type: ClassVar[str] = "HouseholdMemberJoined"
    person_id: str
    relation: Relation
    occurred_on: date


class HouseholdMemberLeftV1(_Household):
    event_type: ClassVar[str] = "HouseholdMemberLeft"
    person_id: str
    relation: Relation
    occurred_on: date


class ZeroEmploymentHouseholdRecognisedV1(_Household):
    """零就业家庭认定: no member of working age works (none has an open re-employment spell)."""

    event_type: ClassVar[str] = "ZeroEmploymentHouseholdRecognised"
    business_date_field: ClassVar[str] = "recognised_on"
    recognised_on: date
    working_age_members: int = Field(ge=1, description="members of working age on that day")


class ZeroEmploymentHouseholdClearedV1(_Household):
    """清零: a member started a re-employment spell; the household has someone in work."""

    event_type: ClassVar[str] = "ZeroEmploymentHouseholdCleared"
    business_date_field: ClassVar[str] = "cleared_on"
    cleared_on: date
    by_person_id: str
    spell_id: str


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


class ProviderReinstatedV1(_Provider):
    """A suspended provider has put things right (整改到位): dispatch may send it orders again."""

    event_type: ClassVar[str] = "ProviderReinstated"
    reason: str = Field(description="what was put right, e.g. 整改验收合格")
    occurred_on: date | None = Field(
        default=None, description="the day it was reinstated (programme time zone)"
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
    CertificateReviewedV1,
    HomeVisitRecordedV1,
    WorkerReemployedV1,
    ReemploymentSpellStartedV1,
    ReemploymentSpellEndedV1,
    UnemploymentReregisteredV1,
    UnemploymentBenefitGrantedV1,
    UnemploymentBenefitEndedV1,
    WorkerErasedV1,
    ResidentRegisteredV1,
    ResidentEligibilityChangedV1,
    ResidentErasedV1,
    HouseholdRegisteredV1,
    HouseholdMemberJoinedV1,
    HouseholdMemberLeftV1,
    ZeroEmploymentHouseholdRecognisedV1,
    ZeroEmploymentHouseholdClearedV1,
    ProviderRegisteredV1,
    ProviderGradedV1,
    ProviderSuspendedV1,
    ProviderReinstatedV1,
    VolunteerRegisteredV1,
)
