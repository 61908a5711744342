"""How the programme's work is checked and honoured: the year-end inspection and acceptance of
an area (检查验收) by an office above it, commendations (表彰) nominated and then granted or
declined by the office that awards the title, and the activities the programme counts."""

from __future__ import annotations

from datetime import date
from typing import Literal

from jinguo_contracts.base import EventContract
from jinguo_contracts.programme import (
    ActivityHeldV1,
    ActivityKind,
    AreaInspectedV1,
    AwardDeclinedV1,
    AwardGrantedV1,
    AwardLevel,
    AwardNominatedV1,
    AwardTitle,
    InspectionResult,
    NomineeKind,
    RectificationAcceptedV1,
)
from jinguo_registry.domain.indicators import BY_CODE
from jinguo_registry.domain.organisations import NotPermittedError
from jinguo_registry.domain.programme import Office
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    RuleViolationError,
    check_past_date,
)


class InspectionState(AggregateState):
    area_code: str
    result: InspectionResult
    inspected_on: date
    inspected_by: str


class AreaInspection(Aggregate[InspectionState]):
    aggregate_type = "inspection"
    state_type = InspectionState

    @classmethod
    def evolve(cls, state: InspectionState | None, event: EventContract) -> InspectionState:
        if isinstance(event, AreaInspectedV1):
            return InspectionState(
                area_code=event.area_code,
                result=event.result,
                inspected_on=event.inspected_on,
                inspected_by=event.inspected_by,
            )
        assert state is not None
        if isinstance(event, RectificationAcceptedV1):
            return state.model_copy(update={"result": "passed"})
        return state

    def inspect(
        self,
        *,
        area_code: str,
        year: int,
        on: date,
        scores: dict[str, int],
        findings: str,
        result: InspectionResult,
        by: Office,
        today: date,
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(f"inspection {self.id} is recorded", existing_id=self.id)
        if not by.is_above(area_code):
            raise NotPermittedError(f"only an office above area {area_code} inspects it")
        check_past_date(on, "inspected_on", today)
        if on.year not in (year, year + 1):
            raise InvalidCommandError(
                f"an inspection of {year} takes place in {year} or early {year + 1}",
                field="inspected_on",
            )
        unknown = sorted(set(scores) - set(BY_CODE))
        if unknown:
            raise InvalidCommandError(f"unknown indicators: {', '.join(unknown)}", field="scores")
        out_of_range = sorted(code for code, score in scores.items() if not 0 <= score <= 100)
        if out_of_range:
            raise InvalidCommandError(
                f"a score lies between 0 and 100: {', '.join(out_of_range)}", field="scores"
            )
        self.record(
            AreaInspectedV1(
                inspection_id=self.id,
                area_code=area_code,
                year=year,
                inspected_on=on,
                inspected_by=by.agency_id,
                scores=scores,
                findings=findings,
                result=result,
            )
        )

    def accept_rectification(self, *, notes: str, on: date, by: Office, today: date) -> None:
        state = self.require_state()
        if by.agency_id != state.inspected_by:
            raise NotPermittedError("only the office that inspected accepts the rectification")
        if state.result != "rectification_required":
            raise RuleViolationError(f"inspection {self.id} asked for no rectification")
        check_past_date(on, "accepted_on", today)
        if on < state.inspected_on:
            raise InvalidCommandError("accepted_on is before the inspection", field="accepted_on")
        self.record(
            RectificationAcceptedV1(
                inspection_id=self.id, area_code=state.area_code, accepted_on=on, notes=notes
            )
        )


AwardDecision = Literal["nominated", "granted", "declined"]


class AwardState(AggregateState):
    area_code: str
    title: AwardTitle
    level: AwardLevel
    nominee_kind: NomineeKind
    nominee_id: str
    nominated_by: str
    nominated_on: date
    decision: AwardDecision = "nominated"


LEVEL_PREFIX_DIGITS = {"district": 6, "city": 4, "province": 2, "national": 0}
"""How many leading digits of an area code the awarding office's own area has, per level."""


class Award(Aggregate[AwardState]):
    aggregate_type = "award"
    state_type = AwardState

    @classmethod
    def evolve(cls, state: AwardState | None, event: EventContract) -> AwardState:
        if isinstance(event, AwardNominatedV1):
            return AwardState(
                area_code=event.area_code,
                title=event.title,
                level=event.level,
                nominee_kind=event.nominee_kind,
                nominee_id=event.nominee_id,
                nominated_by=event.nominated_by,
                nominated_on=event.nominated_on,
            )
        assert state is not None
        if isinstance(event, AwardGrantedV1):
            return state.model_copy(update={"decision": "granted"})
        if isinstance(event, AwardDeclinedV1):
            return state.model_copy(update={"decision": "declined"})
        return state

    def nominate(
        self,
        *,
        area_code: str,
        title: AwardTitle,
        level: AwardLevel,
        year: int,
        nominee_kind: NomineeKind,
        nominee_id: str,
        nominee_name: str,
        reason: str,
        on: date,
        by: Office,
        today: date,
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(
                f"{nominee_name} is already nominated for this title in {year}",
                existing_id=self.id,
            )
        if not year - 1 <= today.year <= year + 1:
            raise InvalidCommandError(
                f"a nomination is for {today.year} or a year next to it", field="year"
            )
        self.record(
            AwardNominatedV1(
                award_id=self.id,
                area_code=area_code,
                title=title,
                level=level,
                year=year,
                nominee_kind=nominee_kind,
                nominee_id=nominee_id,
                nominee_name=nominee_name,
                reason=reason,
                nominated_by=by.agency_id,
                nominated_on=check_past_date(on, "nominated_on", today),
            )
        )

    def _decider(self, by: Office) -> AwardState:
        """The office of the award's level (a district's for a district title, …), above the
        nominee's area, never the nominating office itself."""
        state = self.require_state()
        if state.decision != "nominated":
            raise RuleViolationError(f"nomination {self.id} is {state.decision} already")
        digits = LEVEL_PREFIX_DIGITS[state.level]
        if len(by.prefix) > digits or not state.area_code.startswith(by.prefix):
            raise NotPermittedError(
                f"a {state.level} title is awarded by an office at {state.level} level or above"
                f" over area {state.area_code}"
            )
        if by.agency_id == state.nominated_by:
            raise NotPermittedError("the office that nominated does not decide its nomination")
        return state

    def grant(self, *, on: date, by: Office, today: date) -> None:
        state = self._decider(by)
        check_past_date(on, "granted_on", today)
        if on < state.nominated_on:
            raise InvalidCommandError("granted_on is before the nomination", field="granted_on")
        self.record(
            AwardGrantedV1(
                award_id=self.id,
                area_code=state.area_code,
                title=state.title,
                nominee_kind=state.nominee_kind,
                nominee_id=state.nominee_id,
                granted_by=by.agency_id,
                granted_on=on,
            )
        )

    def decline(self, *, reason: str, by: Office) -> None:
        state = self._decider(by)
        self.record(
            AwardDeclinedV1(
                award_id=self.id, area_code=state.area_code, declined_by=by.agency_id, reason=reason
            )
        )


class ActivityState(AggregateState):
    area_code: str


class Activity(Aggregate[ActivityState]):
    aggregate_type = "activity"
    state_type = ActivityState

    @classmethod
    def evolve(cls, state: ActivityState | None, event: EventContract) -> ActivityState:
        if isinstance(event, ActivityHeldV1):
            return ActivityState(area_code=event.area_code)
        assert state is not None
        return state

    def hold(
        self,
        *,
        kind: ActivityKind,
        title: str,
        on: date,
        area_code: str,
        participants: int,
        referrals: int,
        households_visited: int,
        aid_yuan: int,
        aid_in_kind: str | None,
        results: str | None,
        by: Office,
        today: date,
    ) -> None:
        if self.exists:
            return
        check_past_date(on, "held_on", today)
        if referrals and kind not in ("job_fair", "guidance_meeting"):
            raise InvalidCommandError(
                "referrals are made at job fairs and guidance meetings", field="referrals"
            )
        if (households_visited or aid_yuan or aid_in_kind) and kind != "caring_visit":
            raise InvalidCommandError("aid is given on caring visits (慰问)", field="kind")
        self.record(
            ActivityHeldV1(
                activity_id=self.id,
                kind=kind,
                title=title,
                held_on=on,
                area_code=area_code,
                organised_by=by.agency_id,
                participants=participants,
                referrals=referrals,
                households_visited=households_visited,
                aid_yuan=aid_yuan,
                aid_in_kind=aid_in_kind,
                results=results,
            )
        )
