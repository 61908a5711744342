"""What the registry does when a course awards a certificate: the worker's certificate
register and her dossier hold it too (one register of her certificates, wherever issued)."""

from __future__ import annotations

from jinguo_contracts.employment import CertificateAwardedV1
from jinguo_registry.handlers.commands import IssueCertificate, RegistryHandlers
from jinguo_shared.domain import AlreadyExistsError
from jinguo_shared.envelope import CommandContext, RecordedEvent
from jinguo_shared.reactions import Policy, reacts_to


class CourseCertificatePolicy(Policy):
    name = "course_certificates"
    subjects = ("employment.course.*.CertificateAwarded",)

    def __init__(self, handlers: RegistryHandlers) -> None:
        self.handlers = handlers

    @reacts_to(CertificateAwardedV1)
    async def when_a_course_awards_a_certificate_register_it(
        self, e: CertificateAwardedV1, _: RecordedEvent, ctx: CommandContext
    ) -> None:
        try:
            await self.handlers.issue_certificate(
                e.worker_id,
                IssueCertificate(
                    kind="vocational",
                    number=e.certificate_no,
                    issued_on=e.awarded_on,
                    occupation_code=e.occupation_code,
                    level=e.level,
                ),
                ctx,
            )
        except AlreadyExistsError:  # the same award delivered again: it is registered already
            return
