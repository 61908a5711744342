"""Access control, the kernel's own contract: partner agencies, their API clients, scopes and
personal-data grants, and the record of every disclosure of personal data.

The registry service decides and publishes the agency events (on `registry.agency.>`, stream
REGISTRY); every service learns its callers from them. Service, event types, versions and
subjects are the registry's as they always were, so the stored log replays unchanged. Any
service publishes `PersonalDataDisclosed` on its own stream.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from jinguo_contracts.base import CATALOGUE, EventContract

AgencyKind = Literal[
    "womens_federation",
    "labour_office",
    "civil_affairs",
    "legal_aid",
    "street_office",
    "community_office",
    "bank",
]
"""`bank`: a lending bank (经办银行) that decides on and disburses small guaranteed loans."""

SERVICE_SCOPES = ("registry", "employment", "orders", "rights")
SCOPES = frozenset(
    f"{service}:{access}" for service in SERVICE_SCOPES for access in ("read", "write")
) | {"registry:admin", "rights:admin"}
"""What an agency's admin may grant. `rights:admin` lets an agency appoint its case officers and
supervisors in the rights service."""
OPERATOR_SCOPE = "platform:admin"
"""The platform operator's: registers agencies and administers any agency's API clients. Held
by the bootstrap key only, the one `jinguo up` creates for development or `jinguo-registry
issue-key` for a deployment; never granted over the API."""


ALL_PERSONAL_FIELDS = "*"
"""In a grant's fields: every personal field of the service's events, now and in later versions."""
CONFIDENTIAL_SERVICES = frozenset({"rights"})
"""Their personal data never leaves them: no grant can be made for it."""


def personal_fields(service: str) -> frozenset[str]:
    """The personal (sealed) fields of a service's published events: what a grant may name."""
    if service in CONFIDENTIAL_SERVICES:
        return frozenset()
    return frozenset(
        field
        for contract in CATALOGUE.contracts()
        if contract.service == service
        for field in contract.pii_fields()
    )


class _Agency(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "agency"
    agency_id: str


class AgencyRegisteredV1(_Agency):
    event_type: ClassVar[str] = "AgencyRegistered"
    name: str
    kind: AgencyKind
    area_code: str


class ApiClientIssuedV1(_Agency):
    """Only the SHA-256 of the key is published; the key itself is shown once to the caller."""

    event_type: ClassVar[str] = "ApiClientIssued"
    client_id: str
    name: str
    key_hash: str
    scopes: list[str]
    officer_id: str | None = Field(
        default=None,
        description="the officer (经办人) who holds this key and acts with it; None for a system",
    )


class ApiClientKeyRotatedV1(_Agency):
    """A new key for the same client; the previous one still works until `previous_valid_until`."""

    event_type: ClassVar[str] = "ApiClientKeyRotated"
    client_id: str
    key_hash: str
    previous_key_hash: str
    previous_valid_until: datetime


class ApiClientRevokedV1(_Agency):
    event_type: ClassVar[str] = "ApiClientRevoked"
    client_id: str
    reason: str


class ApiClientPersonalDataGrantedV1(_Agency):
    """The client may receive these personal fields of `data_service`'s events, for `purpose`,
    until `valid_until` (None: until withdrawn). A later grant for the same service replaces it."""

    event_type: ClassVar[str] = "ApiClientPersonalDataGranted"
    client_id: str
    data_service: str
    fields: list[str] = Field(description=f'field names, or ["{ALL_PERSONAL_FIELDS}"]: all')
    purpose: str
    valid_until: datetime | None = None


class ApiClientPersonalDataWithdrawnV1(_Agency):
    event_type: ClassVar[str] = "ApiClientPersonalDataWithdrawn"
    client_id: str
    data_service: str
    reason: str


DisclosureChannel = Literal["feed", "webhook"]


class PersonalDataDisclosedV1(EventContract):
    """Personal data of one data subject handed to an API client outside the service's own
    reads, recorded by the service that handed it, on its own stream
    (`<service>.disclosure.<subject id>.PersonalDataDisclosed`). It names fields, never their
    values, so it holds no personal data and outlives the subject's erasure."""

    service: ClassVar[str] = "access"
    """The kernel's contract, not one service's: each service that discloses publishes it on
    its own stream, and the envelope's `source` names which."""
    aggregate: ClassVar[str] = "disclosure"
    event_type: ClassVar[str] = "PersonalDataDisclosed"
    subject_id: str
    area_code: str = Field(description="the subject's area, whose agencies may read this record")
    client_id: str
    agency_id: str
    officer_id: str | None
    fields: list[str]
    purpose: str = Field(description="the purpose of the grant the data was disclosed under")
    event_ids: list[str] = Field(description="the events whose personal fields were disclosed")
    channel: DisclosureChannel
    disclosed_at: datetime


CATALOGUE.register(
    AgencyRegisteredV1,
    ApiClientIssuedV1,
    ApiClientKeyRotatedV1,
    ApiClientRevokedV1,
    ApiClientPersonalDataGrantedV1,
    ApiClientPersonalDataWithdrawnV1,
    PersonalDataDisclosedV1,
)
