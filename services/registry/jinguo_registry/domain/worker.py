"""The worker: a woman registered with the programme, her status, certificates and visits."""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    OCCUPATION_CODE_SYSTEM,
    BusinessStarted,
    Category,
    CertificateIssuedV1,
    CertificateKind,
    CertificateReviewedV1,
    CertificateRevokedV1,
    DesiredWork,
    HomeVisitRecordedV1,
    HoursType,
    ReemploymentSpellEndedV1,
    ReemploymentSpellStartedV1,
    ReviewOutcome,
    SpellKind,
    TaxRelief,
    UnemploymentBenefitEndedV1,
    UnemploymentBenefitGrantedV1,
    UnemploymentReregisteredV1,
    WorkerCategoryAssessedV1,
    WorkerErasedV1,
    WorkerProfileUpdatedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
)
from jinguo_registry.domain.validation import (
    birth_date_from_national_id,
    gender_from_national_id,
)
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
    check_past_date,
    check_planned_date,
)


class OpenSpell(BaseModel):
    """What deciding needs of a spell still running: its kind, first day and who she works for."""

    model_config = ConfigDict(frozen=True)

    kind: SpellKind
    started_on: date
    employer: str | None = Field(default=None, description="employer's or business's name")


class Benefit(BaseModel):
    model_config = ConfigDict(frozen=True)

    benefit_id: str
    from_on: date
    until: date
    ended_on: date | None = None

    def draws_on(self, day: date) -> bool:
        return self.from_on <= day <= (self.ended_on or self.until)


class WorkerState(AggregateState):
    area_code: str
    categories: dict[str, date] = Field(default_factory=dict)
    certificates: dict[str, str] = Field(default_factory=dict, description="number -> kind")
    revoked_certificates: list[str] = Field(default_factory=list)
    reviewed: dict[str, tuple[date, date | None]] = Field(
        default_factory=dict,
        description="certificate number -> its latest review: the day, the new valid_until",
    )
    visit_ids: list[str] = Field(default_factory=list)
    placement_ids: list[str] = Field(default_factory=list)
    erased: bool = False
    gender: Literal["female", "male"] | None = None
    birth_date: date | None = None
    registered_on: date | None = Field(
        default=None, description="absent for registrations recorded before business dates"
    )
    open_spells: dict[str, OpenSpell] = Field(
        description="required: a state cached before spells existed fails to load, and the log"
        " (where an older WorkerReemployed is an open placement spell) decides instead"
    )
    ended_spells: list[str] = Field(default_factory=list)
    benefit: Benefit | None = Field(default=None, description="her latest unemployment benefit")


FORTY_FIFTY: Final = {"female": 40, "male": 50}
"""4050人员: women from 40 and men from 50 (the age reached on the day of the assessment)."""


REVIEWED_KINDS: Final[frozenset[CertificateKind]] = frozenset(
    {"employment_unemployment", "reemployment_preference"}
)
"""The certificates reviewed every year (年审); a 明白卡 ends with its relief, a vocational
certificate does not lapse."""


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class Worker(Aggregate[WorkerState]):
    aggregate_type = "worker"
    state_type = WorkerState

    @classmethod
    def evolve(cls, state: WorkerState | None, event: EventContract) -> WorkerState:
        if isinstance(event, WorkerRegisteredV1):
            return WorkerState(
                area_code=event.area_code,
                gender=event.gender,
                birth_date=event.birth_date,
                registered_on=event.occurred_on,
                open_spells={},
            )
        assert state is not None, f"{event.event_type} before WorkerRegistered"
        match event:
            case WorkerProfileUpdatedV1(area_code=str(area)):
                return state.model_copy(update={"area_code": area})
            case WorkerCategoryAssessedV1():
                return state.model_copy(
                    update={"categories": {**state.categories, event.category: event.valid_until}}
                )
            case CertificateIssuedV1():
                certificates = {**state.certificates, event.number: event.kind}
                return state.model_copy(update={"certificates": certificates})
            case CertificateRevokedV1():
                certificates = {k: v for k, v in state.certificates.items() if k != event.number}
                revoked = [*state.revoked_certificates, event.number]
                return state.model_copy(
                    update={"certificates": certificates, "revoked_certificates": revoked}
                )
            case CertificateReviewedV1():
                review = (event.reviewed_on, event.valid_until)
                reviewed = {**state.reviewed, event.number: review}
                if event.outcome == "renewed":
                    return state.model_copy(update={"reviewed": reviewed})
                certificates = {k: v for k, v in state.certificates.items() if k != event.number}
                revoked = [*state.revoked_certificates, event.number]
                return state.model_copy(
                    update={
                        "certificates": certificates,
                        "revoked_certificates": revoked,
                        "reviewed": reviewed,
                    }
                )
            case HomeVisitRecordedV1():
                return state.model_copy(update={"visit_ids": [*state.visit_ids, event.visit_id]})
            case WorkerReemployedV1():  # recorded before spells: a placement spell started
                spell = OpenSpell(
                    kind="placement", started_on=event.started_on, employer=event.employer_name
                )
                return state.model_copy(
                    update={
                        "placement_ids": [*state.placement_ids, event.placement_id],
                        "open_spells": {**state.open_spells, event.placement_id: spell},
                    }
                )
            case ReemploymentSpellStartedV1():
                employer = event.business.name if event.business else event.employer_name
                spell = OpenSpell(kind=event.kind, started_on=event.started_on, employer=employer)
                placements = state.placement_ids
                if event.placement_id is not None:
                    placements = [*placements, event.placement_id]
                return state.model_copy(
                    update={
                        "placement_ids": placements,
                        "open_spells": {**state.open_spells, event.spell_id: spell},
                    }
                )
            case ReemploymentSpellEndedV1():
                still_open = {k: v for k, v in state.open_spells.items() if k != event.spell_id}
                return state.model_copy(
                    update={
                        "open_spells": still_open,
                        "ended_spells": [*state.ended_spells, event.spell_id],
                    }
                )
            case UnemploymentBenefitGrantedV1():
                benefit = Benefit(
                    benefit_id=event.benefit_id, from_on=event.from_on, until=event.until
                )
                return state.model_copy(update={"benefit": benefit})
            case UnemploymentBenefitEndedV1() if state.benefit is not None:
                ended = state.benefit.model_copy(update={"ended_on": event.ended_on})
                return state.model_copy(update={"benefit": ended})
            case WorkerErasedV1():  # her area stays: who may still ask about her follows from it
                return WorkerState(area_code=state.area_code, erased=True, open_spells={})
        return state

    def _live(self) -> WorkerState:
        state = self.require_state()
        if state.erased:
            raise NotFoundError(f"worker {self.id} was erased")
        return state

    def register(
        self,
        *,
        name: str,
        national_id: str,
        phone: str,
        area_code: str,
        hukou: str,
        skills: list[str],
        desired_work: DesiredWork,
        on: date,
        today: date,
        station_id: str | None = None,
        person_id: str | None = None,
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(
                f"a worker with this national ID is already registered: {self.id}",
                existing_id=self.id,
            )
        self.record(
            WorkerRegisteredV1(
                worker_id=self.id,
                name=name,
                national_id=national_id,
                gender=gender_from_national_id(national_id),
                birth_date=birth_date_from_national_id(national_id),
                phone=phone,
                area_code=area_code,
                hukou=hukou,
                skills=skills,
                desired_work=desired_work,
                occurred_on=check_past_date(on, "occurred_on", today),
                station_id=station_id,
                person_id=person_id,
            )
        )

    def update_profile(
        self,
        *,
        phone: str | None,
        area_code: str | None,
        skills: list[str] | None,
        desired_work: DesiredWork | None,
    ) -> None:
        state = self._live()
        if area_code == state.area_code:
            area_code = None
        if phone is None and area_code is None and skills is None and desired_work is None:
            return
        self.record(
            WorkerProfileUpdatedV1(
                worker_id=self.id,
                phone=phone,
                area_code=area_code,
                skills=skills,
                desired_work=desired_work,
            )
        )

    def assess_category(
        self, *, category: Category, evidence: str, valid_until: date, on: date, today: date
    ) -> None:
        state = self._live()
        check_past_date(on, "occurred_on", today)
        check_planned_date(valid_until, "valid_until", today)
        if valid_until <= today:
            raise InvalidCommandError("valid_until must be in the future", field="valid_until")
        if category == "age_40_50" and state.gender and state.birth_date:
            age, least = age_on(state.birth_date, on), FORTY_FIFTY[state.gender]
            if age < least:
                raise InvalidCommandError(
                    f"4050 (age_40_50) is for women from 40 and men from 50: this"
                    f" {'woman' if state.gender == 'female' else 'man'} was {age} on"
                    f" {on.isoformat()}",
                    field="category",
                )
        if state.categories.get(category) == valid_until:
            return
        self.record(
            WorkerCategoryAssessedV1(
                worker_id=self.id,
                category=category,
                evidence=evidence,
                valid_until=valid_until,
                occurred_on=on,
                area_code=state.area_code,
            )
        )

    def issue_certificate(
        self,
        *,
        kind: CertificateKind,
        number: str,
        issued_on: date,
        valid_until: date | None,
        occupation_code: str | None,
        level: int | None,
        today: date,
        relief: TaxRelief | None = None,
    ) -> None:
        state = self._live()
        if number in state.certificates or number in state.revoked_certificates:
            raise AlreadyExistsError(
                f"certificate {number} was already issued to this worker", existing_id=number
            )
        check_past_date(issued_on, "issued_on", today)
        if valid_until is not None:
            check_planned_date(valid_until, "valid_until", today)
            if valid_until <= issued_on:
                raise InvalidCommandError(
                    "valid_until must be after issued_on", field="valid_until"
                )
        if kind == "vocational" and occupation_code is None:
            raise InvalidCommandError(
                "a vocational certificate needs its occupation_code", field="occupation_code"
            )
        if kind != "vocational" and (occupation_code is not None or level is not None):
            raise InvalidCommandError(
                "only vocational certificates carry an occupation code and level",
                field="occupation_code",
            )
        if kind == "tax_relief" and relief is None:
            raise InvalidCommandError(
                "a 明白卡 (tax_relief) carries its relief: months, taxes, business, tax office",
                field="relief",
            )
        if kind != "tax_relief" and relief is not None:
            raise InvalidCommandError(
                "only a tax_relief certificate (明白卡) carries a tax relief", field="relief"
            )
        self.record(
            CertificateIssuedV1(
                worker_id=self.id,
                kind=kind,
                number=number,
                issued_on=issued_on,
                valid_until=valid_until,
                occupation_code=occupation_code,
                code_system=OCCUPATION_CODE_SYSTEM if occupation_code else None,
                level=level,
                area_code=state.area_code,
                relief=relief,
            )
        )

    def revoke_certificate(self, *, number: str, reason: str, on: date, today: date) -> None:
        state = self._live()
        check_past_date(on, "occurred_on", today)
        if number in state.revoked_certificates:
            return
        kind = state.certificates.get(number)
        if kind is None:
            raise NotFoundError(f"worker {self.id} holds no certificate {number}")
        self.record(
            CertificateRevokedV1(
                worker_id=self.id,
                kind=kind,
                number=number,
                reason=reason,
                area_code=state.area_code,
                occurred_on=on,
            )
        )

    def review_certificate(
        self,
        *,
        number: str,
        reviewed_on: date,
        outcome: ReviewOutcome,
        valid_until: date | None,
        reason: str | None,
        today: date,
    ) -> None:
        """年审. The same review sent again (same day, same outcome) records nothing more."""
        state = self._live()
        check_past_date(reviewed_on, "reviewed_on", today)
        closed = number in state.revoked_certificates  # revoked, or withdrawn at a review
        if state.reviewed.get(number) == (reviewed_on, valid_until) and closed == (
            outcome == "withdrawn"
        ):
            return
        if closed:
            raise RuleViolationError(
                f"certificate {number} was revoked or withdrawn: it is not reviewed any more"
            )
        kind = state.certificates.get(number)
        if kind is None:
            raise NotFoundError(f"worker {self.id} holds no certificate {number}")
        if kind not in REVIEWED_KINDS:
            raise InvalidCommandError(f"a {kind} certificate has no annual review", field="number")
        if outcome == "renewed":
            if valid_until is None:
                raise InvalidCommandError(
                    "a renewed certificate needs its new valid_until", field="valid_until"
                )
            check_planned_date(valid_until, "valid_until", today)
            if valid_until <= reviewed_on:
                raise InvalidCommandError(
                    "valid_until must be after reviewed_on", field="valid_until"
                )
            reason = None
        else:
            if not reason:
                raise InvalidCommandError("a withdrawal needs its reason", field="reason")
            valid_until = None
        self.record(
            CertificateReviewedV1(
                worker_id=self.id,
                kind=kind,
                number=number,
                reviewed_on=reviewed_on,
                outcome=outcome,
                valid_until=valid_until,
                reason=reason,
                area_code=state.area_code,
            )
        )

    def record_home_visit(
        self, *, visit_id: str, visited_on: date, visitor: str, notes: str, today: date
    ) -> None:
        state = self._live()
        if visit_id in state.visit_ids:
            return
        check_past_date(visited_on, "visited_on", today)
        self.record(
            HomeVisitRecordedV1(
                worker_id=self.id,
                visit_id=visit_id,
                visited_on=visited_on,
                visitor=visitor,
                notes=notes,
                area_code=state.area_code,
            )
        )

    def start_spell(
        self,
        *,
        spell_id: str,
        kind: SpellKind,
        started_on: date,
        today: date,
        employer_name: str | None = None,
        post_id: str | None = None,
        placement_id: str | None = None,
        hours_type: HoursType | None = None,
        business: BusinessStarted | None = None,
        reported_by_employment: bool = False,
    ) -> None:
        """再就业 of any kind. A placement is idempotent per placement: the employment
        service's PostFilled may arrive twice. A placement employment already accepted is
        not refused for a registration entered later than its start: refusing would lose it."""
        state = self._live()
        if placement_id is not None and placement_id in state.placement_ids:
            return
        if spell_id in state.open_spells or spell_id in state.ended_spells:
            return
        check_spell_kind(kind, employer_name, post_id, placement_id, business)
        check_past_date(started_on, "started_on", today)
        registered_on = None if reported_by_employment else state.registered_on
        if registered_on is not None and started_on < registered_on:
            raise InvalidCommandError(
                f"started_on {started_on.isoformat()} is before she registered"
                f" ({registered_on.isoformat()})",
                field="started_on",
            )
        employer = business.name if business else employer_name
        for open_id, spell in state.open_spells.items():
            if (spell.kind, spell.started_on, spell.employer) == (kind, started_on, employer):
                raise AlreadyExistsError(
                    f"this {kind} spell from {started_on.isoformat()} is already recorded"
                    f" ({open_id})",
                    existing_id=open_id,
                )
        assert state.gender is not None, "a registered worker has a gender"
        self.record(
            ReemploymentSpellStartedV1(
                worker_id=self.id,
                spell_id=spell_id,
                kind=kind,
                started_on=started_on,
                area_code=state.area_code,
                gender=state.gender,
                employer_name=employer_name,
                post_id=post_id,
                placement_id=placement_id,
                hours_type=hours_type,
                business=business,
            )
        )

    def end_spell(self, *, spell_id: str, ended_on: date, reason: str, today: date) -> None:
        """Ending her last open spell makes her unemployed again (失业再登记), in the same
        append. Ending an ended spell again changes nothing (PlacementEnded redelivered)."""
        state = self._live()
        if spell_id in state.ended_spells:
            return
        spell = state.open_spells.get(spell_id)
        if spell is None:
            raise NotFoundError(f"worker {self.id} has no spell {spell_id}")
        check_past_date(ended_on, "ended_on", today)
        if ended_on < spell.started_on:
            raise InvalidCommandError(
                f"ended_on {ended_on.isoformat()} is before the spell started"
                f" ({spell.started_on.isoformat()})",
                field="ended_on",
            )
        self.record(
            ReemploymentSpellEndedV1(
                worker_id=self.id,
                spell_id=spell_id,
                kind=spell.kind,
                ended_on=ended_on,
                reason=reason,
                area_code=state.area_code,
            )
        )
        if not self.require_state().open_spells:
            self.record(
                UnemploymentReregisteredV1(
                    worker_id=self.id,
                    occurred_on=ended_on,
                    area_code=state.area_code,
                    after_spell_id=spell_id,
                )
            )

    def grant_benefit(
        self, *, benefit_id: str, from_on: date, until: date, monthly_yuan: int, today: date
    ) -> None:
        """领失业金: one benefit at a time; a new one starts after the last one stopped."""
        state = self._live()
        current = state.benefit
        if current is not None and current.benefit_id == benefit_id:
            return
        check_past_date(from_on, "from_on", today)
        check_planned_date(until, "until", today)
        if until < from_on:
            raise InvalidCommandError("until must not be before from_on", field="until")
        if current is not None and from_on <= (current.ended_on or current.until):
            raise RuleViolationError(
                f"she draws unemployment benefit until"
                f" {(current.ended_on or current.until).isoformat()}: end it first",
                existing_id=current.benefit_id,
            )
        self.record(
            UnemploymentBenefitGrantedV1(
                worker_id=self.id,
                benefit_id=benefit_id,
                from_on=from_on,
                until=until,
                monthly_yuan=monthly_yuan,
                area_code=state.area_code,
            )
        )

    def end_benefit(self, *, ended_on: date, reason: str, today: date) -> None:
        state = self._live()
        benefit = state.benefit
        if benefit is None:
            raise NotFoundError(f"worker {self.id} draws no unemployment benefit")
        if benefit.ended_on is not None:
            return
        check_past_date(ended_on, "ended_on", today)
        if not benefit.from_on <= ended_on <= benefit.until:
            raise InvalidCommandError(
                f"ended_on must lie between {benefit.from_on.isoformat()} and"
                f" {benefit.until.isoformat()}, when she draws it",
                field="ended_on",
            )
        self.record(
            UnemploymentBenefitEndedV1(
                worker_id=self.id,
                benefit_id=benefit.benefit_id,
                ended_on=ended_on,
                reason=reason,
                area_code=state.area_code,
            )
        )

    def erase(self, *, reason: str) -> None:
        state = self.require_state()
        if state.erased:
            return
        self.record(WorkerErasedV1(worker_id=self.id, reason=reason))


def check_spell_kind(
    kind: SpellKind,
    employer_name: str | None,
    post_id: str | None,
    placement_id: str | None,
    business: BusinessStarted | None,
) -> None:
    """What each kind of spell must say: a placement its post, a job she found her employer,
    her own business its name and trade (and a company its licence)."""
    if kind == "placement":
        if post_id is None or placement_id is None:
            raise InvalidCommandError(
                "a placement through Jinguo comes with its post and placement", field="post_id"
            )
    elif post_id is not None or placement_id is not None:
        raise InvalidCommandError(
            "only a placement through Jinguo carries a post and placement", field="post_id"
        )
    if kind in ("placement", "found_herself") and not employer_name:
        raise InvalidCommandError(f"a {kind} spell needs its employer_name", field="employer_name")
    if kind in ("self_employed", "business"):
        if business is None:
            raise InvalidCommandError(f"a {kind} spell needs its business", field="business")
        if kind == "business" and not business.licence_no:
            raise InvalidCommandError(
                "a business started needs its licence_no (营业执照)", field="business.licence_no"
            )
    elif business is not None:
        raise InvalidCommandError(
            "only self_employed and business spells carry a business", field="business"
        )
