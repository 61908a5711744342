"""Who is entitled to which certificate, so that every one who qualifies holds hers (应发尽发).

Seed 004: "积极为符合条件的女性下岗失业人员特别是'4*0'人员办理《失业证》和《再就业优惠证》，
做到应发尽发".

The rules, as Jinguo applies them on a given day:

- 失业证 / 就业失业登记证 (`employment_unemployment`): a worker registered with the programme
  (登记), of working age (from 16 to the statutory retirement age: 50 for women, 60 for men,
  the ages of 国发〔1978〕104号 that the seeds' offices applied), with local hukou (the
  certificate is issued where her household is registered; a migrant is registered where her
  hukou is), and
  unemployed: no re-employment spell of hers is open (a placement, a job she found herself,
  flexible work, self-employment or a business she started all end her entitlement until the
  spell ends).
- 再就业优惠证 (`reemployment_preference`): all of the above, and at least one hardship category
  assessed for her and valid that day: 4050 (`age_40_50`), 低保 (`minimum_living_allowance`), a
  zero-employment household (`zero_employment_household`, 零就业家庭) or long-term unemployment
  (`long_term_unemployed`, 失业一年以上).

She holds a certificate of a kind when one of that kind was issued to her, was neither revoked
nor withdrawn at its annual review (年审), and is within its `valid_until` (or has none). A
certificate past its `valid_until` that nobody reviewed is due for review; she no longer holds it
and, if she still qualifies, she is listed as entitled without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

from jinguo_contracts.registry import Category
from jinguo_registry.domain.worker import REVIEWED_KINDS, age_on

EntitlementKind = Literal["employment_unemployment", "reemployment_preference"]
ENTITLEMENT_KINDS: Final[tuple[EntitlementKind, ...]] = (
    "employment_unemployment",
    "reemployment_preference",
)
WORKING_AGE_FROM: Final = 16
RETIREMENT_AGE: Final = {"female": 50, "male": 60}
PREFERENCE_CATEGORIES: Final[frozenset[Category]] = frozenset(
    {"age_40_50", "minimum_living_allowance", "zero_employment_household", "long_term_unemployed"}
)
assert frozenset(ENTITLEMENT_KINDS) == REVIEWED_KINDS, "the certificates entitled to are reviewed"


@dataclass(frozen=True, slots=True)
class HeldCertificate:
    kind: str
    number: str
    valid_until: date | None
    in_force: bool
    """Neither revoked nor withdrawn at a review."""

    def valid_on(self, day: date) -> bool:
        return self.in_force and (self.valid_until is None or self.valid_until >= day)


@dataclass(frozen=True, slots=True)
class Applicant:
    """What the rules look at: her registration, work, categories and certificates."""

    gender: str
    birth_date: date
    hukou: str
    employed: bool
    categories: Mapping[str, date] = field(default_factory=dict)
    """Category -> valid_until of its latest assessment."""
    certificates: Iterable[HeldCertificate] = ()


def of_working_age(gender: str, birth_date: date, day: date) -> bool:
    return WORKING_AGE_FROM <= age_on(birth_date, day) < RETIREMENT_AGE[gender]


def preference_categories(applicant: Applicant, day: date) -> list[str]:
    """Her categories that qualify her for a 再就业优惠证 on `day`."""
    return sorted(
        category
        for category, valid_until in applicant.categories.items()
        if category in PREFERENCE_CATEGORIES and valid_until >= day
    )


def qualifies(applicant: Applicant, kind: EntitlementKind, day: date) -> bool:
    registered_unemployed = (
        applicant.hukou == "local"
        and not applicant.employed
        and of_working_age(applicant.gender, applicant.birth_date, day)
    )
    if kind == "employment_unemployment":
        return registered_unemployed
    return registered_unemployed and bool(preference_categories(applicant, day))


def holds(applicant: Applicant, kind: str, day: date) -> bool:
    return any(c.kind == kind and c.valid_on(day) for c in applicant.certificates)


def entitled_without(applicant: Applicant, kind: EntitlementKind, day: date) -> bool:
    """应发未发: she qualifies on `day` and holds no valid certificate of the kind."""
    return qualifies(applicant, kind, day) and not holds(applicant, kind, day)
