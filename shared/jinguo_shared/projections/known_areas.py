"""Every service learns the register of areas and its stations from the registry's events."""

from __future__ import annotations

from sqlalchemy import Column, String

from jinguo_contracts.areas import AreaRegisteredV1, StationRegisteredV1
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class KnownAreas(Projection):
    name = "known_areas"
    subjects = ("registry.area.*.AreaRegistered", "registry.station.*.StationRegistered")

    def define(self) -> None:
        self.areas = self.table("known_areas", Column("area_code", String(12), primary_key=True))
        self.stations = self.table(
            "known_stations",
            Column("station_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False),
        )

    @handles(AreaRegisteredV1)
    def _registered(self, e: AreaRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.areas, {"area_code": e.area_code})

    @handles(StationRegisteredV1)
    def _station(self, e: StationRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(self.stations, {"station_id": e.station_id, "area_code": e.area_code})
