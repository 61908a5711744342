"""Providers, volunteers and partner agencies (with the API clients they are issued)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import Field

from jinguo_contracts.access import (
    ALL_PERSONAL_FIELDS,
    OPERATOR_SCOPE,
    SCOPES,
    AgencyKind,
    AgencyRegisteredV1,
    ApiClientIssuedV1,
    ApiClientKeyRotatedV1,
    ApiClientPersonalDataGrantedV1,
    ApiClientPersonalDataWithdrawnV1,
    ApiClientRevokedV1,
    personal_fields,
)
from jinguo_contracts.base import EventContract
from jinguo_contracts.registry import (
    ProviderGradedV1,
    ProviderRegisteredV1,
    ProviderReinstatedV1,
    ProviderSuspendedV1,
    VolunteerRegisteredV1,
)
from jinguo_shared.domain import (
    PLANNING_YEARS,
    Aggregate,
    AggregateState,
    AlreadyExistsError,
    DomainError,
    InvalidCommandError,
    NotFoundError,
    RuleViolationError,
    check_past_date,
)


class NotPermittedError(DomainError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True, slots=True)
class Grantor:
    """Who administers an agency's API clients: one of the agency's own keys (it grants and
    re-keys only what it holds itself), the platform operator, or the bootstrap step."""

    scopes: frozenset[str]
    operator: bool = False
    bootstrap: bool = False
    client_id: str | None = None
    """The key acting, if it is one: no key grants personal data to itself."""


BOOTSTRAP = Grantor(frozenset(), operator=True, bootstrap=True)


class ProviderNotSuspendedError(RuleViolationError):
    code = "provider-not-suspended"


class ProviderState(AggregateState):
    area_code: str
    suspended: bool = False
    grade: int | None = None


class Provider(Aggregate[ProviderState]):
    aggregate_type = "provider"
    state_type = ProviderState

    @classmethod
    def evolve(cls, state: ProviderState | None, event: EventContract) -> ProviderState:
        if isinstance(event, ProviderRegisteredV1):
            return ProviderState(area_code=event.area_code)
        assert state is not None
        if isinstance(event, ProviderGradedV1):
            return state.model_copy(update={"grade": event.grade})
        if isinstance(event, ProviderSuspendedV1):
            return state.model_copy(update={"suspended": True})
        if isinstance(event, ProviderReinstatedV1):
            return state.model_copy(update={"suspended": False})
        return state

    def register(
        self,
        *,
        name: str,
        credit_code: str,
        area_code: str,
        services: list[str],
        women_led: bool,
        on: date | None = None,
        today: date | None = None,
    ) -> None:
        """`on`: the day it registered, checked against `today` (both given by handlers)."""
        if on is not None and today is not None:
            check_past_date(on, "occurred_on", today)
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
                occurred_on=on,
            )
        )

    def grade(self, *, grade: int, graded_on: date, assessor: str, today: date) -> None:
        state = self.require_state()
        if state.suspended:
            raise RuleViolationError(f"provider {self.id} is suspended and cannot be graded")
        check_past_date(graded_on, "graded_on", today)
        self.record(
            ProviderGradedV1(
                provider_id=self.id, grade=grade, graded_on=graded_on, assessor=assessor
            )
        )

    def suspend(self, *, reason: str, on: date | None = None, today: date | None = None) -> None:
        if on is not None and today is not None:
            check_past_date(on, "occurred_on", today)
        if not self.require_state().suspended:
            self.record(ProviderSuspendedV1(provider_id=self.id, reason=reason, occurred_on=on))

    def reinstate(self, *, reason: str, on: date, today: date) -> None:
        """Only a suspended provider can be reinstated: anything else is a conflict (409), so a
        reinstatement never hides that the suspension it meant was never recorded."""
        check_past_date(on, "occurred_on", today)
        if not self.require_state().suspended:
            raise ProviderNotSuspendedError(f"provider {self.id} is not suspended")
        self.record(ProviderReinstatedV1(provider_id=self.id, reason=reason, occurred_on=on))


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
        self,
        *,
        name: str,
        phone: str,
        area_code: str,
        skills: list[str],
        team: str | None,
        on: date,
        today: date,
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
                occurred_on=check_past_date(on, "occurred_on", today),
            )
        )


class PersonalDataGrant(AggregateState):
    fields: list[str]
    purpose: str
    valid_until: datetime | None


class ClientState(AggregateState):
    key_hash: str
    scopes: list[str]
    revoked: bool = False
    grants: dict[str, PersonalDataGrant] = Field(default_factory=dict)
    """By the service whose events' personal fields the client may receive."""


class AgencyState(AggregateState):
    clients: dict[str, ClientState]


class Agency(Aggregate[AgencyState]):
    aggregate_type = "agency"
    state_type = AgencyState

    @classmethod
    def evolve(cls, state: AgencyState | None, event: EventContract) -> AgencyState:
        if isinstance(event, AgencyRegisteredV1):
            return AgencyState(clients={})
        assert state is not None
        clients = dict(state.clients)
        if isinstance(event, ApiClientIssuedV1):
            clients[event.client_id] = ClientState(key_hash=event.key_hash, scopes=event.scopes)
        elif isinstance(event, ApiClientKeyRotatedV1):
            rotated = clients[event.client_id].model_copy(update={"key_hash": event.key_hash})
            clients[event.client_id] = rotated
        elif isinstance(event, ApiClientRevokedV1):
            clients[event.client_id] = clients[event.client_id].model_copy(update={"revoked": True})
        elif isinstance(event, ApiClientPersonalDataGrantedV1):
            client = clients[event.client_id]
            grant = PersonalDataGrant(
                fields=event.fields, purpose=event.purpose, valid_until=event.valid_until
            )
            grants = {**client.grants, event.data_service: grant}
            clients[event.client_id] = client.model_copy(update={"grants": grants})
        elif isinstance(event, ApiClientPersonalDataWithdrawnV1):
            client = clients[event.client_id]
            grants = {s: g for s, g in client.grants.items() if s != event.data_service}
            clients[event.client_id] = client.model_copy(update={"grants": grants})
        else:
            return state
        return AgencyState(clients=clients)

    def register(self, *, name: str, kind: AgencyKind, area_code: str) -> None:
        if self.exists:
            raise AlreadyExistsError(f"agency {self.id} already exists", existing_id=self.id)
        self.record(
            AgencyRegisteredV1(agency_id=self.id, name=name, kind=kind, area_code=area_code)
        )

    def issue_client(
        self,
        *,
        client_id: str,
        name: str,
        key_hash: str,
        scopes: list[str],
        officer_id: str | None,
        grantor: Grantor,
    ) -> None:
        state = self.require_state()
        if client_id in state.clients:
            return
        if not scopes:
            raise InvalidCommandError("a client needs at least one scope", field="scopes")
        unknown = sorted(set(scopes) - SCOPES - {OPERATOR_SCOPE})
        if unknown:
            raise InvalidCommandError(f"unknown scopes: {', '.join(unknown)}", field="scopes")
        if OPERATOR_SCOPE in scopes and not grantor.bootstrap:
            raise NotPermittedError(
                f"{OPERATOR_SCOPE} is held by the platform's bootstrap key only", field="scopes"
            )
        beyond = sorted(set(scopes) - grantor.scopes)
        if beyond and not grantor.operator:
            raise NotPermittedError(
                f"a key grants only scopes it holds itself; this one lacks {', '.join(beyond)}",
                field="scopes",
            )
        self.record(
            ApiClientIssuedV1(
                agency_id=self.id,
                client_id=client_id,
                name=name,
                key_hash=key_hash,
                scopes=sorted(scopes),
                officer_id=officer_id,
            )
        )

    def _client(self, client_id: str) -> ClientState:
        client = self.require_state().clients.get(client_id)
        if client is None:
            raise NotFoundError(f"agency {self.id} has no API client {client_id}")
        return client

    def rotate_key(
        self, *, client_id: str, key_hash: str, previous_valid_until: datetime, grantor: Grantor
    ) -> None:
        """A new key for the client; the one it replaces works until `previous_valid_until`."""
        client = self._client(client_id)
        if client.revoked:
            raise RuleViolationError(f"API client {client_id} was revoked: issue a new one")
        beyond = sorted(set(client.scopes) - grantor.scopes)
        if beyond and not grantor.operator:
            raise NotPermittedError(
                f"only a key holding every scope of client {client_id} may rotate its key;"
                f" this one lacks {', '.join(beyond)}"
            )
        self.record(
            ApiClientKeyRotatedV1(
                agency_id=self.id,
                client_id=client_id,
                key_hash=key_hash,
                previous_key_hash=client.key_hash,
                previous_valid_until=previous_valid_until,
            )
        )

    def revoke_client(self, *, client_id: str, reason: str, grantor: Grantor) -> None:
        client = self._client(client_id)
        if OPERATOR_SCOPE in client.scopes and not grantor.operator:
            raise NotPermittedError(f"only the platform operator revokes a {OPERATOR_SCOPE} key")
        if not client.revoked:
            self.record(ApiClientRevokedV1(agency_id=self.id, client_id=client_id, reason=reason))

    def grant_personal_data(
        self,
        *,
        client_id: str,
        data_service: str,
        fields: list[str],
        purpose: str,
        valid_until: datetime | None,
        now: datetime,
        grantor: Grantor,
    ) -> None:
        """Lets the client receive these personal fields of `data_service`'s events (in its
        feed) for `purpose`; each disclosure is then recorded where the data came from."""
        client = self._client(client_id)
        if grantor.client_id == client_id:
            raise NotPermittedError("an API client cannot grant personal data to itself")
        if client.revoked:
            raise RuleViolationError(f"API client {client_id} was revoked")
        grantable = personal_fields(data_service)
        if not grantable:
            raise InvalidCommandError(
                f"the events of {data_service} carry no personal data that may be granted",
                field="data_service",
            )
        unknown = sorted(set(fields) - grantable - {ALL_PERSONAL_FIELDS})
        if unknown:
            raise InvalidCommandError(
                f"not personal fields of {data_service}'s events: {', '.join(unknown)}"
                f" (they are {', '.join(sorted(grantable))}, or {ALL_PERSONAL_FIELDS} for all)",
                field="fields",
            )
        if ALL_PERSONAL_FIELDS in fields and len(fields) > 1:
            raise InvalidCommandError(
                f"{ALL_PERSONAL_FIELDS} grants every field: name no others with it", field="fields"
            )
        if f"{data_service}:read" not in client.scopes:
            raise RuleViolationError(
                f"API client {client_id} lacks the scope {data_service}:read: it reads no"
                f" events of {data_service}",
                field="data_service",
            )
        if valid_until is not None and not (
            now < valid_until and valid_until.year <= now.year + PLANNING_YEARS
        ):
            raise InvalidCommandError(
                f"valid_until must lie ahead, within {PLANNING_YEARS} years", field="valid_until"
            )
        grant = PersonalDataGrant(fields=sorted(fields), purpose=purpose, valid_until=valid_until)
        if client.grants.get(data_service) != grant:
            self.record(
                ApiClientPersonalDataGrantedV1(
                    agency_id=self.id,
                    client_id=client_id,
                    data_service=data_service,
                    fields=grant.fields,
                    purpose=purpose,
                    valid_until=valid_until,
                )
            )

    def withdraw_personal_data(
        self, *, client_id: str, data_service: str, reason: str, grantor: Grantor
    ) -> None:
        client = self._client(client_id)
        if grantor.client_id == client_id:
            raise NotPermittedError("an API client cannot change its own grants")
        if data_service not in client.grants:
            raise NotFoundError(
                f"API client {client_id} holds no grant of personal data of {data_service}"
            )
        self.record(
            ApiClientPersonalDataWithdrawnV1(
                agency_id=self.id, client_id=client_id, data_service=data_service, reason=reason
            )
        )
