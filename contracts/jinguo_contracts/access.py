"""Access control, the kernel's own contract: partner agencies, their API clients and scopes.

The registry service decides and publishes these events (on `registry.agency.>`, stream
REGISTRY); every service learns its callers from them. Service, event types, versions and
subjects are the registry's as they always were, so the stored log replays unchanged.
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
]

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


CATALOGUE.register(AgencyRegisteredV1, ApiClientIssuedV1, ApiClientKeyRotatedV1, ApiClientRevokedV1)
