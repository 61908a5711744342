"""What the registry's reads return, field by field, as its projections hold them. Personal
fields (names, phones, addresses, evidence, notes) are unsealed for the caller, and null once the
person is erased and her key destroyed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from jinguo_contracts.access import AgencyKind
from jinguo_contracts.programme import AwardLevel, AwardTitle
from jinguo_contracts.registry import (
    BusinessStarted,
    Category,
    CertificateKind,
    DesiredWork,
    EligibilityReason,
    HoursType,
    PriceTier,
    SpellKind,
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
    status: Literal["registered", "reemployed", "unemployed_again"] = Field(
        description="reemployed while a spell of hers is open; unemployed_again once her last"
        " spell ended (失业再登记)"
    )
    registered_seq: int = Field(description="the registration's sequence in REGISTRY")
    registered_on: date = Field(description="business date of the registration")
    reemployed_on: date | None = Field(description="start of the latest re-employment")
    station_id: str | None = Field(description="the station that took her registration")
    unemployed_again_on: date | None = Field(
        description="the day her last spell ended, when she is unemployed again"
    )
    draws_benefit: bool = Field(description="draws unemployment benefit today (领失业金)")
    benefit_from: date | None = Field(description="first day of her latest benefit")
    benefit_until: date | None = Field(
        description="last day of her latest benefit (the day it was stopped, if earlier)"
    )
    benefit_monthly_yuan: int | None


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


class Spell(ReadModel):
    spell_id: str
    worker_id: str
    kind: SpellKind
    started_on: date
    ended_on: date | None = Field(description="null while the spell runs")
    end_reason: str | None
    employer_name: str | None
    post_id: str | None
    placement_id: str | None
    hours_type: HoursType | None
    business: BusinessStarted | None


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
    reemployments: list[Reemployment] = Field(description="placements through Jinguo")
    spells: list[Spell] = Field(description="re-employment spells of every kind, oldest first")
    awards: list[Honour] = Field(description="titles awarded to her (表彰), oldest first")
    person_id: str | None = Field(
        default=None, description="her person across roles (null: registered before it existed)"
    )
    minimum_living_allowance: bool = Field(
        default=False,
        description="低保 today: a category of her worker role or her resident role's eligibility",
    )


class PathLine(ReadModel):
    worker_id: str
    fact_id: str = Field(description="the fact: service, event type and what it is about")
    happened_on: date = Field(description="its business date (programme time zone)")
    recorded_at: datetime = Field(description="when the log recorded it")
    service: Literal["registry", "employment", "orders"] = Field(description="who recorded it")
    kind: str = Field(description="e.g. registered, course_completed, spell_started")
    summary: str = Field(description="what happened, in a line without personal data")
    area_code: str | None = Field(description="where it happened, when the event says")
    ref: str | None = Field(description="what it is about: a course, placement, order, spell…")


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
