"""No record in an area the register does not hold, nor taken by a station that does not serve
it: once an operator has loaded the register (any area at all), a command whose events name an
unknown area code is refused (422), in every service alike; until then codes are checked by
their form only, so a deployment can start. An event naming a station (`station_id`: the 妇女之家
that took a registration, the legal-aid point that took a case) must name one of the register's,
of the event's area or an area above it.

Areas and stations are never removed from the register, so each one found is remembered: the
usual command costs no look-up. One not found is refused only once this service has read the
register up to its end: what was registered a moment ago is not refused for the lag.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from jinguo_contracts.areas import StationRegisteredV1
from jinguo_contracts.base import EventContract
from jinguo_shared.db import DirectSql
from jinguo_shared.domain import DomainError
from jinguo_shared.envelope import CommandContext
from jinguo_shared.projections.known_areas import KnownAreas


class UnknownAreaError(DomainError):
    code = "unknown-area"
    status = 422


class AreaRegisterGuard:
    def __init__(
        self,
        sql: DirectSql,
        register: Callable[[], KnownAreas],
        catch_up: Callable[[], Awaitable[None]],
    ) -> None:
        self._sql = sql
        self._register = register
        self._catch_up = catch_up
        self._areas: set[str] = set()
        self._stations: dict[str, str] = {}

    async def check(self, events: Sequence[EventContract], context: CommandContext) -> None:
        if context.jurisdiction is None:  # the system carries what another service accepted
            return
        for event in events:
            area = getattr(event, "area_code", None)
            if not isinstance(area, str):
                continue
            if area not in self._areas:
                await self._check_area(area)
            station = getattr(event, "station_id", None)
            if isinstance(station, str) and not isinstance(event, StationRegisteredV1):
                await self._check_station(station, area)

    async def _area_held(self, area: str) -> bool:
        table = self._register().areas.name
        if await self._sql.fetch(f"SELECT 1 FROM {table} WHERE area_code = ?", area):
            self._areas.add(area)
            return True
        return False

    async def _check_area(self, area: str) -> None:
        # one round trip: is it held, and is any area held at all (no register loaded yet)
        table = self._register().areas.name
        [(held, loaded)] = await self._sql.fetch(
            f"SELECT (SELECT count(*) FROM {table} WHERE area_code = ?),"
            f" (SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS one)",
            area,
        )
        if held:
            self._areas.add(area)
        if held or not loaded:
            return
        await self._catch_up()
        if not await self._area_held(area):
            raise UnknownAreaError(
                f"area {area} is not in the register of areas (GET /registry/areas); an"
                " operator adds it (jinguo-registry areas FILE, or POST /registry/areas)",
                field="area_code",
            )

    async def _station_area(self, station: str) -> str | None:
        if station not in self._stations:
            table = self._register().stations.name
            rows = await self._sql.fetch(
                f"SELECT area_code FROM {table} WHERE station_id = ?", station
            )
            if rows:
                self._stations[station] = str(rows[0][0])
        return self._stations.get(station)

    async def _check_station(self, station: str, area: str) -> None:
        served = await self._station_area(station)
        if served is None:
            await self._catch_up()
            served = await self._station_area(station)
        if served is None or not area.startswith(served):
            raise UnknownAreaError(
                f"no station {station} of the register serves area {area}", field="station_id"
            )
