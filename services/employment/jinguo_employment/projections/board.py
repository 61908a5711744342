"""Employers, posts and their candidates; placements with their follow-ups; courses and
trainees."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Float, Index, Integer, String

from jinguo_contracts.employment import (
    ApplicationReceivedV1,
    CandidateRecommendedV1,
    CertificateAwardedV1,
    CourseScheduledV2,
    EmployerRegisteredV1,
    EmployerReinstatedV1,
    EmployerSuspendedV1,
    FlexibleEmploymentRecordedV1,
    PlacementEndedV1,
    PlacementFollowedUpV1,
    PostClosedV1,
    PostFilledV1,
    PostPublishedV1,
    PostReopenedV1,
    PostSuspendedV1,
    TraineeEnrolledV1,
    TraineeWithdrewV1,
    TrainingCompletedV1,
    TrainingSubsidyGrantedV1,
)
from jinguo_employment.domain.worker_record import add_months
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class PostBoard(Projection):
    name = "post_board"
    subjects = ("employment.employer.>", "employment.post.>")

    def define(self) -> None:
        self.employers = self.table(
            "employers",
            Column("employer_id", String(36), primary_key=True),
            Column("name", String(200), nullable=False),
            Column("credit_code", String(18), nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("status", String(12), nullable=False),
            Column("suspended_by", JSON, nullable=False),
            Column("seq", BigInteger, nullable=False, index=True),
        )
        self.posts = self.table(
            "posts",
            Column("post_id", String(36), primary_key=True),
            Column("employer_id", String(36), nullable=False, index=True),
            Column("employer_name", String(200), nullable=False),
            Column("title", String(200), nullable=False),
            Column("occupation_code", String(12), nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("wage_amount", Integer, nullable=False),
            Column("wage_unit", String(8), nullable=False),
            Column("hours_type", String(12), nullable=False),
            Column("openings", Integer, nullable=False),
            Column("openings_left", Integer, nullable=False),
            Column("requirements", JSON, nullable=False),
            Column("kind", String(16), nullable=False),
            Column("status", String(12), nullable=False),
            Column("published_on", Date, nullable=False),
            Column("seq", BigInteger, nullable=False),
        )
        Index(f"ix_posts_area_g{self.generation}", self.posts.c.area_code, self.posts.c.seq)
        self.candidates = self.table(
            "post_candidates",
            Column("post_id", String(36), primary_key=True),
            Column("worker_id", String(36), primary_key=True),
            Column("how", String(12), primary_key=True),
            Column("score", Float),
            Column("reasons", JSON),
            Column("seq", BigInteger, nullable=False),
        )

    @handles(EmployerRegisteredV1)
    def _employer(self, e: EmployerRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.employers,
            {
                "employer_id": e.employer_id,
                "name": e.name,
                "credit_code": e.credit_code,
                "area_code": e.area_code,
                "status": "active",
                "suspended_by": [],
                "seq": at.seq,
            },
        )

    @handles(EmployerSuspendedV1)
    def _suspended(self, e: EmployerSuspendedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        # the decision state keeps the causes; the read model shows the latest one only
        b.update(
            self.employers,
            {"employer_id": e.employer_id},
            {"status": "suspended", "suspended_by": [e.inspection_id or "manual"]},
        )

    @handles(EmployerReinstatedV1)
    def _reinstated(self, e: EmployerReinstatedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.employers,
            {"employer_id": e.employer_id},
            {
                "status": "suspended" if e.still_suspended_by else "active",
                "suspended_by": list(e.still_suspended_by),
            },
        )

    @handles(PostPublishedV1)
    def _published(self, e: PostPublishedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.posts,
            {
                "post_id": e.post_id,
                "employer_id": e.employer_id,
                "employer_name": e.employer_name,
                "title": e.title,
                "occupation_code": e.occupation_code,
                "area_code": e.area_code,
                "wage_amount": e.wage.amount,
                "wage_unit": e.wage.unit,
                "hours_type": e.hours_type,
                "openings": e.openings,
                "openings_left": e.openings,
                "requirements": e.requirements.model_dump(mode="json"),
                "kind": e.kind,
                "status": "open",
                "published_on": e.published_on,
                "seq": at.seq,
            },
        )

    @handles(CandidateRecommendedV1)
    def _recommended(
        self, e: CandidateRecommendedV1, at: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.upsert(
            self.candidates,
            {
                "post_id": e.post_id,
                "worker_id": e.worker_id,
                "how": "recommended",
                "score": e.score,
                "reasons": list(e.reasons),
                "seq": at.seq,
            },
        )

    @handles(ApplicationReceivedV1)
    def _applied(self, e: ApplicationReceivedV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.candidates,
            {
                "post_id": e.post_id,
                "worker_id": e.worker_id,
                "how": "applied",
                "score": None,
                "reasons": None,
                "seq": at.seq,
            },
        )

    @handles(PostFilledV1)
    def _filled(self, e: PostFilledV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.posts, {"post_id": e.post_id}, {"openings_left": e.openings_left})
        b.upsert(
            self.candidates,
            {
                "post_id": e.post_id,
                "worker_id": e.worker_id,
                "how": "placed",
                "score": None,
                "reasons": None,
                "seq": at.seq,
            },
        )

    @handles(PostClosedV1)
    def _closed(self, e: PostClosedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.posts, {"post_id": e.post_id}, {"status": "closed"})

    @handles(PostSuspendedV1)
    def _post_suspended(self, e: PostSuspendedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.posts, {"post_id": e.post_id}, {"status": "suspended"})

    @handles(PostReopenedV1)
    def _reopened(self, e: PostReopenedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.posts, {"post_id": e.post_id}, {"status": "open"})


class PlacementRegister(Projection):
    name = "placements"
    subjects = ("employment.post.*.PostFilled", "employment.worker.>")

    def define(self) -> None:
        self.placements = self.table(
            "placements",
            Column("placement_id", String(64), primary_key=True),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("post_id", String(36), nullable=False, index=True),
            Column("employer_id", String(36), nullable=False),
            Column("employer_name", String(200), nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("occupation_code", String(12), nullable=False),
            Column("hours_type", String(12), nullable=False),
            Column("kind", String(16), nullable=False),
            Column("start_date", Date, nullable=False),
            Column("override_reason", String(2000)),
            Column("status", String(8), nullable=False),
            Column("ended_on", Date),
            Column("end_reason", String(20)),
            Column("due_3", Date, nullable=False),
            Column("due_6", Date, nullable=False),
            Column("due_12", Date, nullable=False),
            Column("followed_3", Boolean),
            Column("followed_6", Boolean),
            Column("followed_12", Boolean),
            Column("seq", BigInteger, nullable=False, index=True),
        )
        self.flexible = self.table(
            "flexible_employment",
            Column("order_id", String(64), primary_key=True),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("service_code", String(40), nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("completed_on", Date, nullable=False),
            Column("hours", Float, nullable=False),
        )

    @handles(PostFilledV1)
    def _filled(self, e: PostFilledV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.placements,
            {
                "placement_id": e.placement_id,
                "worker_id": e.worker_id,
                "post_id": e.post_id,
                "employer_id": e.employer_id,
                "employer_name": e.employer_name,
                "area_code": e.area_code,
                "occupation_code": e.occupation_code,
                "hours_type": e.hours_type,
                "kind": e.kind,
                "start_date": e.start_date,
                "override_reason": e.override_reason,
                "status": "active",
                "ended_on": None,
                "end_reason": None,
                "due_3": add_months(e.start_date, 3),
                "due_6": add_months(e.start_date, 6),
                "due_12": add_months(e.start_date, 12),
                "followed_3": None,
                "followed_6": None,
                "followed_12": None,
                "seq": at.seq,
            },
        )

    @handles(PlacementFollowedUpV1)
    def _followed(self, e: PlacementFollowedUpV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.placements,
            {"placement_id": e.placement_id},
            {f"followed_{e.month}": e.still_employed},
        )

    @handles(PlacementEndedV1)
    def _ended(self, e: PlacementEndedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(
            self.placements,
            {"placement_id": e.placement_id},
            {"status": "ended", "ended_on": e.ended_on, "end_reason": e.reason},
        )

    @handles(FlexibleEmploymentRecordedV1)
    def _flexible(
        self, e: FlexibleEmploymentRecordedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.upsert(
            self.flexible,
            {
                "order_id": e.order_id,
                "worker_id": e.worker_id,
                "service_code": e.service_code,
                "area_code": e.area_code,
                "completed_on": e.completed_on,
                "hours": e.hours,
            },
        )


class CourseRegister(Projection):
    name = "courses"
    subjects = ("employment.course.>",)

    def define(self) -> None:
        self.courses = self.table(
            # v2: an SYB course has no occupation code; a database holding the old table lacks
            # this one, so the service asks for a replay
            "courses_v2",
            Column("course_id", String(36), primary_key=True),
            Column("title", String(200), nullable=False),
            Column("trade", String(60), nullable=False),
            Column("occupation_code", String(12)),
            Column("provider", String(200), nullable=False),
            Column("area_code", String(12), nullable=False),
            Column("seats", Integer, nullable=False),
            Column("seats_taken", Integer, nullable=False),
            Column("starts_on", Date, nullable=False),
            Column("ends_on", Date, nullable=False),
            Column("subsidy_per_trainee", Integer, nullable=False),
            Column("kind", String(12), nullable=False),
            Column("seq", BigInteger, nullable=False, index=True),
        )
        self.trainees = self.table(
            "trainees",
            Column("course_id", String(36), primary_key=True),
            Column("worker_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False),
            Column("status", String(10), nullable=False),
            Column("score", Integer),
            Column("certificate_no", String(40)),
            Column("certificate_level", Integer),
            Column("subsidy", Integer),
        )

    @handles(CourseScheduledV2)
    def _scheduled(self, e: CourseScheduledV2, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.courses,
            {
                "course_id": e.course_id,
                "title": e.title,
                "trade": e.trade,
                "occupation_code": e.occupation_code,
                "provider": e.provider,
                "area_code": e.area_code,
                "seats": e.seats,
                "seats_taken": 0,
                "starts_on": e.starts_on,
                "ends_on": e.ends_on,
                "subsidy_per_trainee": e.subsidy_per_trainee,
                "kind": e.kind,
                "seq": at.seq,
            },
        )

    @handles(TraineeEnrolledV1)
    def _enrolled(self, e: TraineeEnrolledV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.courses, {"course_id": e.course_id}, {"seats_taken": e.seats_taken})
        b.upsert(
            self.trainees,
            {
                "course_id": e.course_id,
                "worker_id": e.worker_id,
                "area_code": e.area_code,
                "status": "enrolled",
                "score": None,
                "certificate_no": None,
                "certificate_level": None,
                "subsidy": None,
            },
        )

    @handles(TraineeWithdrewV1)
    def _withdrew(self, e: TraineeWithdrewV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.update(self.courses, {"course_id": e.course_id}, {"seats_taken": e.seats_taken})
        key = {"course_id": e.course_id, "worker_id": e.worker_id}
        b.update(self.trainees, key, {"status": "withdrawn"})

    @handles(TrainingCompletedV1)
    def _completed(self, e: TrainingCompletedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        key = {"course_id": e.course_id, "worker_id": e.worker_id}
        b.update(
            self.trainees, key, {"status": "passed" if e.passed else "failed", "score": e.score}
        )

    @handles(CertificateAwardedV1)
    def _certified(self, e: CertificateAwardedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        key = {"course_id": e.course_id, "worker_id": e.worker_id}
        b.update(
            self.trainees, key, {"certificate_no": e.certificate_no, "certificate_level": e.level}
        )

    @handles(TrainingSubsidyGrantedV1)
    def _subsidy(self, e: TrainingSubsidyGrantedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        key = {"course_id": e.course_id, "worker_id": e.worker_id}
        b.update(self.trainees, key, {"subsidy": e.amount})
