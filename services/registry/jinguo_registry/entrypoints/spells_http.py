"""Her re-employment spells and unemployment benefit over HTTP, under /registry/workers/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from jinguo_registry.handlers import spells as s
from jinguo_registry.handlers.commands import RecordReemployment
from jinguo_registry.handlers.spells import SpellHandlers
from jinguo_shared.http.commands import Accepted, CommandRequest, command_request
from jinguo_shared.http.conventions import require_scope

WriteCommand = Annotated[CommandRequest, Depends(command_request(require_scope("registry:write")))]
Id = Annotated[str, Path(min_length=1, max_length=64)]


class StartedSpell(Accepted):
    spell_id: str
    """Name it to end the spell; a placement's spell is named by its placement."""


class GrantedBenefit(Accepted):
    benefit_id: str


def add_spell_routes(router: APIRouter, handlers: SpellHandlers) -> None:
    @router.post(
        "/workers/{worker_id}/spells",
        status_code=201,
        summary="Start a re-employment spell of any kind (再就业): placement, a job she found"
        " herself, flexible work, self-employment, a business",
    )
    async def start_spell(worker_id: Id, body: s.StartSpell, command: WriteCommand) -> StartedSpell:
        result, spell_id = await handlers.start_spell(worker_id, body, command.context, command.key)
        done = command.accept(result)
        return StartedSpell(id=done.id, position=done.position, spell_id=spell_id)

    @router.post(
        "/workers/{worker_id}/spells/{spell_id}/end",
        summary="End a spell; ending her last one registers her unemployed again (失业再登记)",
    )
    async def end_spell(
        worker_id: Id, spell_id: Id, body: s.EndSpell, command: WriteCommand
    ) -> Accepted:
        result = await handlers.end_spell(worker_id, spell_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/workers/{worker_id}/reemployment",
        status_code=201,
        summary="Record a placement spell (kept for older clients: use /spells)",
        deprecated=True,
    )
    async def record_reemployment(
        worker_id: Id, body: RecordReemployment, command: WriteCommand
    ) -> Accepted:
        result = await handlers.record_placement(worker_id, body, command.context, command.key)
        return command.accept(result)

    @router.post(
        "/workers/{worker_id}/unemployment-benefit",
        status_code=201,
        summary="Record her unemployment-insurance benefit (领失业金) and its end date",
    )
    async def grant_benefit(
        worker_id: Id, body: s.GrantBenefit, command: WriteCommand
    ) -> GrantedBenefit:
        result, benefit_id = await handlers.grant_benefit(
            worker_id, body, command.context, command.key
        )
        done = command.accept(result)
        return GrantedBenefit(id=done.id, position=done.position, benefit_id=benefit_id)

    @router.post(
        "/workers/{worker_id}/unemployment-benefit/end",
        summary="Stop her unemployment benefit before its end date",
    )
    async def end_benefit(worker_id: Id, body: s.EndBenefit, command: WriteCommand) -> Accepted:
        result = await handlers.end_benefit(worker_id, body, command.context, command.key)
        return command.accept(result)
