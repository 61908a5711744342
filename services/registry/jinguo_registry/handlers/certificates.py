"""The annual review of a certificate (年审)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pydantic import ConfigDict, Field, model_validator

from jinguo_contracts.registry import ReviewOutcome
from jinguo_registry.domain.worker import Worker
from jinguo_registry.handlers.commands import Command
from jinguo_shared.commands import CommandExecutor, CommandResult, IdempotencyKey
from jinguo_shared.envelope import CommandContext


class ReviewCertificate(Command):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"reviewed_on": "2026-03-10", "outcome": "renewed", "valid_until": "2027-03-31"},
                {
                    "reviewed_on": "2026-03-10",
                    "outcome": "withdrawn",
                    "reason": "已在东四社区养老驿站稳定就业，不再符合持证条件",
                },
            ]
        }
    )

    reviewed_on: date | None = Field(
        default=None, description="the day of the review (default: today)"
    )
    outcome: ReviewOutcome
    valid_until: date | None = Field(default=None, description="renewed: the new end")
    reason: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _fits_the_outcome(self) -> ReviewCertificate:
        if self.outcome == "renewed" and self.valid_until is None:
            raise ValueError("a renewed certificate needs its new valid_until")
        if self.outcome == "renewed" and self.reason is not None:
            raise ValueError("a reason is for a withdrawal")
        if self.outcome == "withdrawn" and self.reason is None:
            raise ValueError("a withdrawal needs its reason")
        if self.outcome == "withdrawn" and self.valid_until is not None:
            raise ValueError("a withdrawn certificate has no new valid_until")
        return self


class CertificateHandlers:
    def __init__(self, executor: CommandExecutor, today: Callable[[], date]) -> None:
        self._executor = executor
        self._today = today

    async def review_certificate(
        self,
        worker_id: str,
        number: str,
        c: ReviewCertificate,
        ctx: CommandContext,
        key: IdempotencyKey | None = None,
    ) -> CommandResult:
        today = self._today()
        return await self._executor.execute(
            Worker,
            worker_id,
            lambda w: w.review_certificate(
                number=number,
                reviewed_on=c.reviewed_on or today,
                outcome=c.outcome,
                valid_until=c.valid_until,
                reason=c.reason,
                today=today,
            ),
            ctx,
            key,
        )
