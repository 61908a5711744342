"""Every service learns the partner agencies' API clients from the registry's events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Integer, String, Text

from jinguo_contracts.access import (
    AgencyRegisteredV1,
    ApiClientIssuedV1,
    ApiClientKeyRotatedV1,
    ApiClientPersonalDataGrantedV1,
    ApiClientPersonalDataWithdrawnV1,
    ApiClientRevokedV1,
)
from jinguo_shared.db import DirectSql
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
            Column("officer_id", String(64), nullable=True),
            Column("previous_key_hash", String(64), nullable=True),
            Column("previous_valid_until", DateTime(timezone=True), nullable=True),
            Column("revoked", Boolean, nullable=False, default=False),
        )
        self.agencies = self.table(
            "agencies",
            Column("agency_id", String(64), primary_key=True),
            Column("name", String(200), nullable=False),
            Column("kind", String(40), nullable=False),
            Column("area_code", String(12), nullable=False),
        )
        self.grants = self.table(
            "api_client_grants",
            Column("client_id", String(64), primary_key=True),
            Column("data_service", String(20), primary_key=True),
            Column("fields", JSON, nullable=False),
            Column("purpose", Text, nullable=False),
            Column("valid_until", DateTime(timezone=True), nullable=True),
        )
        """What personal data each client may receive, per service whose events carry it."""
        self.changes = self.table(
            "api_client_changes",
            Column("id", Integer, primary_key=True),
            Column("last_seq", BigInteger, nullable=False),
        )
        """One row: the last event that changed a client or an agency (what caches watch)."""

    def _changed(self, recorded: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.upsert(self.changes, {"id": 1, "last_seq": recorded.seq})

    async def last_change(self, sql: DirectSql) -> int:
        rows = await sql.fetch(f"SELECT last_seq FROM {self.changes.name}")
        return int(rows[0][0]) if rows else 0

    @handles(AgencyRegisteredV1)
    def _agency(self, e: AgencyRegisteredV1, r: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.upsert(
            self.agencies,
            {"agency_id": e.agency_id, "name": e.name, "kind": e.kind, "area_code": e.area_code},
        )
        self._changed(r, batch)

    @handles(ApiClientIssuedV1)
    def _issued(self, e: ApiClientIssuedV1, r: RecordedEvent, batch: ProjectionBatch) -> None:
        row: dict[str, Any] = {
            "client_id": e.client_id,
            "agency_id": e.agency_id,
            "key_hash": e.key_hash,
            "scopes": list(e.scopes),
            "officer_id": e.officer_id,
            "previous_key_hash": None,
            "previous_valid_until": None,
            "revoked": False,
        }
        batch.upsert(self.clients, row)
        self._changed(r, batch)

    @handles(ApiClientKeyRotatedV1)
    def _rotated(self, e: ApiClientKeyRotatedV1, r: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(
            self.clients,
            {"client_id": e.client_id},
            {
                "key_hash": e.key_hash,
                "previous_key_hash": e.previous_key_hash,
                "previous_valid_until": e.previous_valid_until,
            },
        )
        self._changed(r, batch)

    @handles(ApiClientRevokedV1)
    def _revoked(self, e: ApiClientRevokedV1, r: RecordedEvent, batch: ProjectionBatch) -> None:
        batch.update(self.clients, {"client_id": e.client_id}, {"revoked": True})
        self._changed(r, batch)

    @handles(ApiClientPersonalDataGrantedV1)
    def _granted(
        self, e: ApiClientPersonalDataGrantedV1, r: RecordedEvent, batch: ProjectionBatch
    ) -> None:
        batch.upsert(
            self.grants,
            {
                "client_id": e.client_id,
                "data_service": e.data_service,
                "fields": list(e.fields),
                "purpose": e.purpose,
                "valid_until": e.valid_until,
            },
        )
        self._changed(r, batch)

    @handles(ApiClientPersonalDataWithdrawnV1)
    def _withdrawn(
        self, e: ApiClientPersonalDataWithdrawnV1, r: RecordedEvent, batch: ProjectionBatch
    ) -> None:
        batch.delete(self.grants, {"client_id": e.client_id, "data_service": e.data_service})
        self._changed(r, batch)
