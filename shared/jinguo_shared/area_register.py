"""No record in an area the register does not hold: once an operator has loaded the register
(any area at all), a command whose events name an unknown area code is refused (422), in every
service alike. Until then codes are checked by their form only, so a deployment can start.

Areas are never removed from the register, so each code found once is remembered: the usual
command costs no look-up. A code not found is refused only once this service has read the
register up to its end: an area registered a moment ago is not refused for the lag.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from jinguo_contracts.base import EventContract
from jinguo_shared.db import DirectSql
from jinguo_shared.domain import DomainError
from jinguo_shared.envelope import CommandContext


class UnknownAreaError(DomainError):
    code = "unknown-area"
    status = 422


class AreaRegisterGuard:
    def __init__(
        self, sql: DirectSql, table: Callable[[], str], catch_up: Callable[[], Awaitable[None]]
    ) -> None:
        self._sql = sql
        self._table = table
        self._catch_up = catch_up
        self._known: set[str] = set()

    async def check(self, events: Sequence[EventContract], context: CommandContext) -> None:
        if context.jurisdiction is None:  # the system carries what another service accepted
            return
        for event in events:
            area = getattr(event, "area_code", None)
            if isinstance(area, str) and area not in self._known:
                await self._look_up(area)

    async def _held(self, area: str) -> bool:
        if await self._sql.fetch(f"SELECT 1 FROM {self._table()} WHERE area_code = ?", area):
            self._known.add(area)
            return True
        return False

    async def _look_up(self, area: str) -> None:
        if await self._held(area):
            return
        if not await self._sql.fetch(f"SELECT 1 FROM {self._table()} LIMIT 1"):
            return  # no register loaded yet
        await self._catch_up()
        if not await self._held(area):
            raise UnknownAreaError(
                f"area {area} is not in the register of areas (GET /registry/areas); an"
                " operator adds it (jinguo-registry areas FILE, or POST /registry/areas)",
                field="area_code",
            )
