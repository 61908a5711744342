"""The certificate rules over HTTP: the annual review (年审), who is entitled without a
certificate (应发未发), and the certificates due for review. Lists name people by id only."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from jinguo_contracts.registry import Category, CertificateKind
from jinguo_registry.domain.entitlement import EntitlementKind
from jinguo_registry.handlers import certificates as h
from jinguo_registry.handlers.certificates import CertificateHandlers
from jinguo_registry.projections.entitlement_queries import CertificateQueries
from jinguo_shared.http.commands import Accepted, CommandRequest, command_request
from jinguo_shared.http.conventions import ReadAfter, ReadModel, require_scope
from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

Reader = Annotated[Caller, Depends(require_scope("registry:read"))]
WriteCommand = Annotated[CommandRequest, Depends(command_request(require_scope("registry:write")))]
Id = Annotated[str, Path(min_length=1, max_length=64)]
CertificateNumber = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
AreaFilter = Annotated[str | None, Query(pattern=r"^\d{2,12}$")]


class EntitledPerson(ReadModel):
    worker_id: str
    area_code: str
    registered_on: date
    categories: list[Category] = Field(
        description="re-employment preference: the valid categories that qualify her"
    )
    lapsed_certificates: list[str] = Field(
        description="numbers of her certificates of the kind that are expired, revoked or withdrawn"
    )


class Entitlement(ReadModel):
    kind: EntitlementKind
    area: str | None = Field(description="the area asked (within your jurisdiction)")
    on: date = Field(description="the day the rules were applied (today)")
    qualifying: int = Field(description="people who qualify for the certificate")
    holding: int = Field(description="of them, those holding a valid one")
    without: int = Field(description="of them, those holding none (应发未发)")
    people: list[EntitledPerson] = Field(description="those without, oldest registration first")


class DueCertificate(ReadModel):
    worker_id: str
    number: str
    kind: CertificateKind
    issued_on: date
    valid_until: date
    reviewed_on: date | None = Field(description="its latest review, if it had one")
    area_code: str = Field(description="her community")


class Reviews(ReadModel):
    kind: CertificateKind | None
    area: str | None
    on: date
    issued: int = Field(description="certificates reviewed every year, ever issued")
    reviewed: int = Field(description="of them, reviewed at least once")
    withdrawn: int = Field(description="of them, withdrawn at a review")
    due: int = Field(description="in force, past valid_until and not renewed (due for 年审)")
    certificates: list[DueCertificate] = Field(description="those due, longest overdue first")


def add_certificate_routes(
    router: APIRouter,
    runtime: ServiceRuntime,
    handlers: CertificateHandlers,
    queries: CertificateQueries,
) -> None:
    @router.post(
        "/workers/{worker_id}/certificates/{number}/review",
        summary="Review a certificate (年审): renewed to a new valid_until, or withdrawn",
    )
    async def review_certificate(
        worker_id: Id, number: CertificateNumber, body: h.ReviewCertificate, command: WriteCommand
    ) -> Accepted:
        result = await handlers.review_certificate(
            worker_id, number, body, command.context, command.key
        )
        return command.accept(result)

    @router.get(
        "/certificates/entitlement",
        summary="Who qualifies for a certificate and holds none (应发尽发), by area",
    )
    async def certificate_entitlement(
        caller: Reader,
        after: ReadAfter,
        kind: Annotated[EntitlementKind, Query()],
        area: AreaFilter = None,
    ) -> Entitlement:
        await runtime.visible(after, "certificate_entitlement")
        found = await queries.entitled_without(kind, caller.area(area), runtime.clock.today())
        return Entitlement.model_validate(found)

    @router.get(
        "/certificates/reviews",
        summary="Certificates due for their annual review (年审), with issued and reviewed",
    )
    async def certificate_reviews(
        caller: Reader,
        after: ReadAfter,
        kind: Annotated[
            Literal["employment_unemployment", "reemployment_preference"] | None, Query()
        ] = None,
        area: AreaFilter = None,
    ) -> Reviews:
        await runtime.visible(after, "certificate_entitlement")
        found = await queries.reviews(kind, caller.area(area), runtime.clock.today())
        return Reviews.model_validate(found)
