"""GET /rights/figures/{id}: the rights figures as last published on INSPECTIONS, over HTTP.

The same cells other services read on `inspections.figures.>`; given `?after=` a position of a
case event, it answers once the figures policy has published what that event changed."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import Field

from jinguo_contracts.areas import AreaLevel, area_level
from jinguo_contracts.inspections import FigureCell
from jinguo_rights.domain.cases import ForbiddenError
from jinguo_rights.domain.figures import RightsFigures
from jinguo_rights.policies.figures import RightsFiguresPolicy
from jinguo_shared.commands import CommandExecutor
from jinguo_shared.domain import NotFoundError
from jinguo_shared.http.conventions import (
    POSITION_NOT_GIVEN_OUT,
    ReadAfter,
    ReadModel,
    require_scope,
)
from jinguo_shared.http.security import Caller
from jinguo_shared.projections.consistency import Position, PositionNotGivenOutError
from jinguo_shared.reaction_progress import ReactionProgress
from jinguo_shared.runtime import ServiceRuntime

AREA_FIGURES = re.compile(r"^(\d{6}|\d{9}|\d{12})-(\d{4})$")
AGENCY_FIGURES = re.compile(r"^agency-(.{1,64})-(\d{4})$")
Reader = Annotated[Caller, Depends(require_scope("rights:read"))]
FiguresId = Annotated[
    str,
    Path(
        pattern=r"^((\d{6}|\d{9}|\d{12})|agency-[A-Za-z0-9_.-]{1,64})-\d{4}$",
        description="`<area_code>-<year>` or `agency-<agency_id>-<year>`",
        examples=["110101001-2026"],
    ),
]


class RightsFiguresRead(ReadModel):
    figures_id: str
    kind: Literal["area", "agency"]
    area_code: str | None
    area_level: AreaLevel | None
    agency_id: str | None
    year: int
    figures: dict[str, dict[str, FigureCell]] = Field(
        description="indicator -> period -> cell, as in the event RightsFiguresPublished"
    )


def add_figures_route(router: APIRouter, runtime: ServiceRuntime, figures: CommandExecutor) -> None:
    """On the service's own router (a router included in it would escape the problems'
    documentation, which `service_app` adds to the routes it is given)."""
    progress = ReactionProgress(runtime.engine, runtime.nc.jetstream(), [RightsFiguresPolicy])

    @router.get(
        "/figures/{figures_id}",
        summary="Rights figures of an area or an agency for a year, as other services read"
        ' them: counts by business date per month, quarter, half and year; 1 to 4 is "<5"',
    )
    async def read_figures(
        figures_id: FiguresId, caller: Reader, after: ReadAfter
    ) -> RightsFiguresRead:
        if area := AREA_FIGURES.match(figures_id):
            if not caller.sees(area[1]):
                raise NotFoundError(f"no figures {figures_id} in your jurisdiction")
        elif (agency := AGENCY_FIGURES.match(figures_id)) and agency[1] != caller.agency_id:
            raise ForbiddenError("an agency's figures are for that agency", field="figures_id")
        if after is not None and Position.parse(after).stream == "RIGHTS":
            try:
                await progress.wait_for(
                    Position.parse(after), runtime.settings.consistency_wait_seconds
                )
            except PositionNotGivenOutError:
                raise HTTPException(400, POSITION_NOT_GIVEN_OUT) from None
        published = await figures.load_cached(RightsFigures, figures_id)
        if published.state is None:
            raise NotFoundError(f"no figures {figures_id}: nothing counted there that year")
        year = int(figures_id.rsplit("-", 1)[1])
        if area:
            return RightsFiguresRead(
                figures_id=figures_id,
                kind="area",
                area_code=area[1],
                area_level=area_level(area[1]),
                agency_id=None,
                year=year,
                figures=published.state.figures,
            )
        return RightsFiguresRead(
            figures_id=figures_id,
            kind="agency",
            area_code=None,
            area_level=None,
            agency_id=caller.agency_id,
            year=year,
            figures=published.state.figures,
        )
