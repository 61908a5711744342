"""Providers, volunteers and partner agencies (with the API clients they are issued)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    AgencyKind,
    AgencyRegisteredV1,
    ApiClientIssuedV1,
    ApiClientRevokedV1,
    ProviderGradedV1,
    ProviderRegisteredV1,
    ProviderSuspendedV1,
    VolunteerRegisteredV1,
)
from jinguo_shared.domain import (
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
)

SERVICE_SCOPES = ("registry", "employment", "orders", "rights")
SCOPES = frozenset(
    f"{service}:{access}" for service in SERVICE_SCOPES for access in ("read", "write")
) | {"registry:admin", "rights:admin"}
"""`rights:admin` lets an agency appoint its case officers and supervisors in the rights service."""


class ProviderState(AggregateState):
    suspended: bool = False
    grade: int | None = None


class Provider(Aggregate[ProviderState]):
    aggregate_type = "provider"
    state_type = ProviderState

    @classmethod
    def evolve(cls, state: ProviderState | None, event: EventContract) -> ProviderState:
        if isinstance(event, ProviderRegisteredV1):
            return ProviderState()
        assert state is not None
        if isinstance(event, ProviderGradedV1):
            return state.model_copy(update={"grade": event.grade})
        if isinstance(event, ProviderSuspendedV1):
            return state.model_copy(update={"suspended": True})
        return state

    def register(
        self, *, name: str, credit_code: str, area_code: str, services: list[str], women_led: bool
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(
                f"a provider with this credit code is already registered: {self.id}",
                existing_id=self.id,
            )
        self.record(
            ProviderRegisteredV1(
                provider_id=self.id,
                name=name,
                credit_code=credit_code,
                area_code=area_code,
                services=services,
                women_led=women_led,
            )
        )

    def grade(self, *, grade: int, graded_on: date, assessor: str, today: date) -> None:
        state = self.require_state()
        if state.suspended:
            raise RuleViolationError(f"provider {self.id} is suspended and cannot be graded")
        if graded_on > today:
            raise InvalidCommandError("graded_on cannot be in the future", field="graded_on")
        self.record(
            ProviderGradedV1(
                provider_id=self.id, grade=grade, graded_on=graded_on, assessor=assessor
            )
        )

    def suspend(self, *, reason: str) -> None:
        if not self.require_state().suspended:
            self.record(ProviderSuspendedV1(provider_id=self.id, reason=reason))


class VolunteerState(AggregateState):
    area_code: str


class Volunteer(Aggregate[VolunteerState]):
    aggregate_type = "volunteer"
    state_type = VolunteerState

    @classmethod
    def evolve(cls, state: VolunteerState | None, event: EventContract) -> VolunteerState:
        if isinstance(event, VolunteerRegisteredV1):
            return VolunteerState(area_code=event.area_code)
        assert state is not None
        return state

    def register(
        self, *, name: str, phone: str, area_code: str, skills: list[str], team: str | None
    ) -> None:
        if self.exists:
            raise AlreadyExistsError(
                f"this volunteer is already registered: {self.id}", existing_id=self.id
            )
        self.record(
            VolunteerRegisteredV1(
                volunteer_id=self.id,
                name=name,
                phone=phone,
                area_code=area_code,
                skills=skills,
                team=team,
            )
        )


class AgencyState(AggregateState):
    clients: list[str] = Field(default_factory=list)
    revoked: list[str] = Field(default_factory=list)


class Agency(Aggregate[AgencyState]):
    aggregate_type = "agency"
    state_type = AgencyState

    @classmethod
    def evolve(cls, state: AgencyState | None, event: EventContract) -> AgencyState:
        if isinstance(event, AgencyRegisteredV1):
            return AgencyState()
        assert state is not None
        if isinstance(event, ApiClientIssuedV1):
            return state.model_copy(update={"clients": [*state.clients, event.client_id]})
        if isinstance(event, ApiClientRevokedV1):
            return state.model_copy(update={"revoked": [*state.revoked, event.client_id]})
        return state

    def register(self, *, name: str, kind: AgencyKind, area_code: str) -> None:
        if self.exists:
            raise AlreadyExistsError(f"agency {self.id} already exists", existing_id=self.id)
        self.record(
            AgencyRegisteredV1(agency_id=self.id, name=name, kind=kind, area_code=area_code)
        )

    def issue_client(self, *, client_id: str, name: str, key_hash: str, scopes: list[str]) -> None:
        state = self.require_state()
        if client_id in state.clients:
            return
        unknown = sorted(set(scopes) - SCOPES)
        if unknown:
            raise InvalidCommandError(f"unknown scopes: {', '.join(unknown)}", field="scopes")
        if not scopes:
            raise InvalidCommandError("a client needs at least one scope", field="scopes")
        self.record(
            ApiClientIssuedV1(
                agency_id=self.id,
                client_id=client_id,
                name=name,
                key_hash=key_hash,
                scopes=sorted(scopes),
            )
        )

    def revoke_client(self, *, client_id: str, reason: str) -> None:
        state = self.require_state()
        if client_id not in state.clients:
            raise NotFoundError(f"agency {self.id} has no API client {client_id}")
        if client_id not in state.revoked:
            self.record(ApiClientRevokedV1(agency_id=self.id, client_id=client_id, reason=reason))
