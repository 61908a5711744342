"""Every service learns the partner agencies' API clients from the registry's events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Column, String

from jinguo_contracts.registry import AgencyRegisteredV1, ApiClientIssuedV1, ApiClientRevokedV1
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class ApiClients(Projection):
    name = "api_clients"
    subjects = ("registry.agency.>",)

    def define(self) -> None:
        self.clients = self.table(
            "api_clients",
            Column("client_id", String(64), primary_key=True),
            Column("agency_id", String(64), nullable=False),
            Column("key_hash", String(64), nullable=False),
            Column("scopes", JSON, nullable=False),
            Column("revoked", Boolean, nullable=False, default=False),
        )
        self.agencies = self.table(
            "agencies",
            Column("agency_id", String(64), primary_key=True),
            Column("name", String(200), nullable=False),
            Column("kind", String(40), nullable=False),
            Column("area_code", String(12), nullable=False),
        )

    @handles(AgencyRegisteredV1)
    def _agency(self, e: AgencyRegisteredV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.upsert(
            self.agencies,
            {"agency_id": e.agency_id, "name": e.name, "kind": e.kind, "area_code": e.area_code},
        )

    @handles(ApiClientIssuedV1)
    def _issued(self, e: ApiClientIssuedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        row: dict[str, Any] = {
            "client_id": e.client_id,
            "agency_id": e.agency_id,
            "key_hash": e.key_hash,
            "scopes": list(e.scopes),
            "revoked": False,
        }
        batch.upsert(self.clients, row)

    @handles(ApiClientRevokedV1)
    def _revoked(self, e: ApiClientRevokedV1, _: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(self.clients, {"client_id": e.client_id}, {"revoked": True})
