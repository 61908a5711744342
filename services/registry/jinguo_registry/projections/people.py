"""People across their roles, households and zero-employment households (零就业家庭).

A role is a worker or a resident registration carrying her person id; registrations recorded
before the id was carried derive no person here (the look-up by national ID still finds them).
No personal field is kept here but the household's sealed address: a person's name is read from
her role's own row, so erasing a role leaves nothing of it in her person view."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, String

from jinguo_contracts.registry import (
    HouseholdMemberJoinedV1,
    HouseholdMemberLeftV1,
    HouseholdRegisteredV1,
    ReemploymentSpellEndedV1,
    ReemploymentSpellStartedV1,
    ResidentErasedV1,
    ResidentRegisteredV1,
    WorkerErasedV1,
    WorkerReemployedV1,
    WorkerRegisteredV1,
    ZeroEmploymentHouseholdClearedV1,
    ZeroEmploymentHouseholdRecognisedV1,
)
from jinguo_registry.projections.workers import Sealed
from jinguo_shared.envelope import RecordedEvent
from jinguo_shared.projections.base import Projection, handles
from jinguo_shared.projections.batch import ProjectionBatch


class People(Projection):
    name = "people"
    subjects = (
        "registry.worker.*.WorkerRegistered",
        "registry.worker.*.ReemploymentSpellStarted",
        "registry.worker.*.ReemploymentSpellEnded",
        "registry.worker.*.WorkerReemployed",
        "registry.worker.*.WorkerErased",
        "registry.resident.*.ResidentRegistered",
        "registry.resident.*.ResidentErased",
        "registry.household.>",
    )

    def define(self) -> None:
        self.roles = self.table(
            "person_roles",
            Column("role_id", String(36), primary_key=True),
            Column("person_id", String(36), nullable=False, index=True),
            Column("role", String(8), nullable=False),
            Column("birth_date", Date, nullable=False),
            Column("gender", String(6)),
        )
        self.open_spells = self.table(
            "open_spells",
            Column("spell_id", String(64), primary_key=True),
            Column("worker_id", String(36), nullable=False, index=True),
            Column("started_on", Date, nullable=False),
        )
        """Her spells of work not ended: while she has one, she works."""
        self.households = self.table(
            "households",
            Column("household_id", String(36), primary_key=True),
            Column("area_code", String(12), nullable=False, index=True),
            Column("address", Sealed),
            Column("registered_on", Date, nullable=False),
            Column("seq", BigInteger, nullable=False),
            Column("recognised_on", Date),
            Column("cleared_on", Date),
            Column("cleared_by_person_id", String(36)),
            Column("cleared_by_spell_id", String(64)),
        )
        """`recognised_on` is the day of the latest recognition (零就业家庭认定); `cleared_on` is
        set once a recognised household is cleared (清零), and reset by a new recognition."""
        self.members = self.table(
            "household_members",
            Column("person_id", String(36), primary_key=True),
            Column("household_id", String(36), nullable=False, index=True),
            Column("relation", String(12), nullable=False),
            Column("joined_on", Date, nullable=False),
        )

    @handles(WorkerRegisteredV1)
    def _worker(self, e: WorkerRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.person_id is not None:
            b.upsert(
                self.roles,
                {
                    "role_id": e.worker_id,
                    "person_id": e.person_id,
                    "role": "worker",
                    "birth_date": e.birth_date,
                    "gender": e.gender,
                },
            )

    @handles(ResidentRegisteredV1)
    def _resident(self, e: ResidentRegisteredV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        if e.person_id is not None:
            b.upsert(
                self.roles,
                {
                    "role_id": e.resident_id,
                    "person_id": e.person_id,
                    "role": "resident",
                    "birth_date": e.birth_date,
                    "gender": None,
                },
            )

    @handles(WorkerErasedV1)
    def _worker_erased(self, e: WorkerErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.roles, {"role_id": e.worker_id})
        b.delete_all(self.open_spells, "worker_id", e.worker_id)

    @handles(ResidentErasedV1)
    def _resident_erased(self, e: ResidentErasedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.roles, {"role_id": e.resident_id})

    @handles(ReemploymentSpellStartedV1)
    def _started(self, e: ReemploymentSpellStartedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.open_spells,
            {"spell_id": e.spell_id, "worker_id": e.worker_id, "started_on": e.started_on},
        )

    @handles(WorkerReemployedV1)
    def _reemployed(self, e: WorkerReemployedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        """Recorded before spells: a placement spell whose id is the placement's."""
        b.upsert(
            self.open_spells,
            {"spell_id": e.placement_id, "worker_id": e.worker_id, "started_on": e.started_on},
        )

    @handles(ReemploymentSpellEndedV1)
    def _ended(self, e: ReemploymentSpellEndedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.open_spells, {"spell_id": e.spell_id})

    @handles(HouseholdRegisteredV1)
    def _household(self, e: HouseholdRegisteredV1, at: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.households,
            {
                "household_id": e.household_id,
                "area_code": e.area_code,
                "address": e.address,
                "registered_on": e.occurred_on,
                "seq": at.seq,
                "recognised_on": None,
                "cleared_on": None,
                "cleared_by_person_id": None,
                "cleared_by_spell_id": None,
            },
        )

    @handles(HouseholdMemberJoinedV1)
    def _joined(self, e: HouseholdMemberJoinedV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.upsert(
            self.members,
            {
                "person_id": e.person_id,
                "household_id": e.household_id,
                "relation": e.relation,
                "joined_on": e.occurred_on,
            },
        )

    @handles(HouseholdMemberLeftV1)
    def _left(self, e: HouseholdMemberLeftV1, _: RecordedEvent, b: ProjectionBatch) -> None:
        b.delete(self.members, {"person_id": e.person_id})

    @handles(ZeroEmploymentHouseholdRecognisedV1)
    def _recognised(
        self, e: ZeroEmploymentHouseholdRecognisedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(
            self.households,
            {"household_id": e.household_id},
            {
                "recognised_on": e.recognised_on,
                "cleared_on": None,
                "cleared_by_person_id": None,
                "cleared_by_spell_id": None,
            },
        )

    @handles(ZeroEmploymentHouseholdClearedV1)
    def _cleared(
        self, e: ZeroEmploymentHouseholdClearedV1, _: RecordedEvent, b: ProjectionBatch
    ) -> None:
        b.update(
            self.households,
            {"household_id": e.household_id},
            {
                "cleared_on": e.cleared_on,
                "cleared_by_person_id": e.by_person_id,
                "cleared_by_spell_id": e.spell_id,
            },
        )
