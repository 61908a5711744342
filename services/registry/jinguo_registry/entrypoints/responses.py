"""What the registry's reads return, field by field, as its projections hold them. Personal
fields (names, phones, addresses, evidence, notes) are unsealed for the caller, and null once the
person is erased and her key destroyed."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from jinguo_contracts.access import AgencyKind
from jinguo_contracts.programme import AwardLevel, AwardTitle
from jinguo_contracts.registry import (
    Category,
    CertificateKind,
    DesiredWork,
    EligibilityReason,
    PriceTier,
    TaxRelief,
)
from jinguo_shared.http.conventions import ReadModel

Personal = str | None


class Worker(ReadModel):
    worker_id: str
    name: Personal
    national_id: Personal = Field(description="masked: the area and the last four characters")
    phone: Personal
    gender: Literal["female", "male"]
    birth_date: date
    area_code: str = Field(description="12-digit community code")
    hukou: Literal["local", "migrant"]
    skills: list[str]
    desired_work: DesiredWork
    status: Literal["registered", "reemployed"]
    registered_seq: int = Field(description="the registration's sequence in REGISTRY")
    registered_on: date = Field(description="business date of the registration")
    reemployed_on: date | None = Field(description="start of the latest re-employment")
    station_id: str | None = Field(description="the station that took her registration")


class AssessedCategory(ReadModel):
    worker_id: str
    category: Category
    evidence: Personal
    valid_until: date
    assessed_on: date = Field(description="business date of the assessment")


class HomeVisit(ReadModel):
    visit_id: str
    worker_id: str
    visited_on: date
    visitor: str
    notes: Personal


class Certificate(ReadModel):
    worker_id: str
    number: str
    kind: CertificateKind
    issued_on: date
    valid_until: date | None
    occupation_code: str | None = Field(description="GB/T 6565 code (vocational certificates)")
    code_system: str | None
    level: int | None = Field(description="1 (highest) to 5, vocational certificates only")
    area_code: str
    status: Literal["active", "revoked", "withdrawn"] = Field(
        description="withdrawn: at its annual review (年审)"
    )
    revoked_reason: str | None = Field(description="why it was revoked or withdrawn")
    reviewed_on: date | None = Field(description="its latest annual review (年审)")
    relief: TaxRelief | None = Field(
        description="a 明白卡's tax relief: months, taxes, business, tax office"
    )


class Reemployment(ReadModel):
    placement_id: str
    worker_id: str
    post_id: str
    employer_name: str
    started_on: date


class Honour(ReadModel):
    award_id: str
    title: AwardTitle
    level: AwardLevel
    year: int
    granted_on: date


class Dossier(Worker):
    categories: list[AssessedCategory] = Field(description="every assessment, expired ones too")
    home_visits: list[HomeVisit] = Field(description="oldest first")
    certificates: list[Certificate] = Field(description="by date of issue")
    reemployments: list[Reemployment]
    awards: list[Honour] = Field(description="titles awarded to her (表彰), oldest first")


class Resident(ReadModel):
    resident_id: str
    name: Personal
    phone: Personal
    address: Personal
    birth_date: date
    area_code: str
    price_tier: PriceTier = Field(description="what her services cost her: free, low-cost, market")
    eligibility_reason: EligibilityReason
    valid_until: date | None = Field(description="when the price tier lapses, if it does")
    status: Literal["registered"]
    seq: int


class Provider(ReadModel):
    provider_id: str
    name: str
    credit_code: str = Field(description="18-character unified social credit code")
    area_code: str
    services: list[str] = Field(description="service codes of the orders catalogue")
    women_led: bool = Field(description="妇字号 entity")
    grade: int | None = Field(description="GB/T 31772 grade, 1 to 5; null until graded")
    graded_on: date | None
    status: Literal["active", "suspended"]
    seq: int


class Volunteer(ReadModel):
    volunteer_id: str
    name: Personal
    phone: Personal
    area_code: str
    skills: list[str]
    team: str | None
    seq: int


class Agency(ReadModel):
    agency_id: str
    name: str
    kind: AgencyKind
    area_code: str = Field(description="its jurisdiction: an area code prefix")
