"""Deadlines, the isolation of the case stream, inspections on INSPECTIONS, and replay, against
a real nats-server and both databases."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nats
import pytest
from sqlalchemy import select

from jinguo_contracts.access import AgencyRegisteredV1
from jinguo_rights.bootstrap import handlers_for
from jinguo_rights.domain.cases import Viewer
from jinguo_rights.handlers.commands import (
    AnswerReferral,
    AppointOfficer,
    AssignCase,
    CloseCase,
    Complainant,
    ExtendDeadline,
    InspectionFinding,
    OpenCase,
    RecordAction,
    RecordInspection,
    RectifyViolation,
    ReferCase,
    ReopenCase,
    Respondent,
    RightsHandlers,
)
from jinguo_shared.commands import CommandResult
from jinguo_shared.domain import InvalidCommandError
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.eventstore import EventStore, read_event
from jinguo_shared.nats_client import connect_nats
from jinguo_shared.runtime import ServiceRuntime
from jinguo_shared.settings import Settings
from jinguo_shared.testing import Opener

from .conftest import TODAY, context

D = date.fromisoformat
FED, AID = "agency-fed", "agency-aid"


async def staff(handlers: RightsHandlers) -> tuple[Viewer, Viewer, Viewer]:
    await handlers.appoint_officer(FED, "ann", AppointOfficer(role="officer"), context())
    await handlers.appoint_officer(FED, "sam", AppointOfficer(role="supervisor"), context())
    await handlers.appoint_officer(AID, "cat", AppointOfficer(role="supervisor"), context())
    return (
        await handlers.viewer(FED, "ann"),
        await handlers.viewer(FED, "sam"),
        await handlers.viewer(AID, "cat"),
    )


def intake(opened_on: str, **changes: Any) -> OpenCase:
    fields: dict[str, Any] = {
        "channel": "hotline_12338",
        "category": "labour",
        "area_code": "110101001001",
        "complainant": Complainant(name="王桂英", phone="13900139000"),
        "respondent": Respondent(kind="employer", name="某家政公司", employer_id="emp-1"),
        "summary": "怀孕后被降薪并被要求辞职",
        "opened_on": D(opened_on),
    }
    return OpenCase(**(fields | changes))


async def snapshot(runtime: ServiceRuntime, name: str) -> dict[str, list[tuple[Any, ...]]]:
    projection = runtime.projections.active(name)
    rows = {}
    async with runtime.engine.connect() as connection:
        for table in projection.metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name.rsplit("_g", 1)[0]] = sorted(tuple(r) for r in result)
    return rows


async def test_deadlines_overdue_due_soon_extension_escalation(
    handlers: RightsHandlers, rights: ServiceRuntime
) -> None:
    from jinguo_rights.bootstrap import queries_for

    queries = queries_for(rights, handlers)
    ann, sam, _ = await staff(handlers)
    # 12338 labour call on the eve of National Day: 10 working days, holidays skipped
    late = await handlers.open_case(ann, intake("2026-09-30"), context())
    # a domestic-violence visit last Wednesday: 5 working days, due within 3 working days
    soon = await handlers.open_case(
        ann, intake("2026-11-18", channel="visit", category="domestic_violence"), context()
    )
    await rights.projections.wait_for(soon.position, ["case_files"], 10)
    [late_row] = await queries.visible_cases(
        sam,
        status=None,
        category="labour",
        channel=None,
        area=None,
        deadline=None,
        today=TODAY,
        after_seq=None,
        limit=10,
    )
    assert late_row["due_on"] == D("2026-10-20")
    overdue = await queries.visible_cases(
        sam,
        status=None,
        category=None,
        channel=None,
        area=None,
        deadline="overdue",
        today=TODAY,
        after_seq=None,
        limit=10,
    )
    assert [r["case_id"] for r in overdue] == [late.aggregate_id]
    due_soon = await queries.visible_cases(
        ann,
        status=None,
        category=None,
        channel=None,
        area=None,
        deadline="due_soon",
        today=TODAY,
        after_seq=None,
        limit=10,
    )
    assert [r["case_id"] for r in due_soon] == [soon.aggregate_id]
    assert due_soon[0]["due_on"] == D("2026-11-25")

    # escalated once per missed due date, however often the sweep runs
    first = await handlers.escalate(sam, late.aggregate_id, context("sweep-1"))
    again = await handlers.escalate(sam, late.aggregate_id, context("sweep-2"))
    assert first is not None
    assert again is None
    assert first.events[0].overdue_days == 24  # type: ignore[attr-defined]
    assert await handlers.escalate(sam, soon.aggregate_id, context()) is None
    with pytest.raises(Exception, match="cannot do this"):
        await handlers.escalate(ann, late.aggregate_id, context())

    # an extension counts working days from the old due date
    extended = await handlers.extend_deadline(
        ann, late.aggregate_id, ExtendDeadline(extra_days=30, reason="等待仲裁结果"), context()
    )
    assert extended.events[0].due_on == D("2026-12-01")  # type: ignore[attr-defined]
    # closing: working days taken and whether on time come from the events
    closed = await handlers.close(
        ann,
        late.aggregate_id,
        CloseCase(outcome="mediated", complainant_satisfied=True, closed_on=D("2026-11-23")),
        context(),
    )
    event = closed.events[0]
    assert (event.working_days_taken, event.on_time) == (34, True)  # type: ignore[attr-defined]
    reopened = await handlers.reopen(
        sam, late.aggregate_id, ReopenCase(reason="用人单位未履行调解协议"), context()
    )
    await rights.projections.wait_for(reopened.position, ["case_files"], 10)
    found = await queries.case_holders(late.aggregate_id)
    assert found is not None
    row = found[0]
    assert (row["status"], row["due_on"], row["closed_on"]) == (
        "in_progress",
        D("2026-12-07"),
        None,
    )
    report = await queries.report(
        agency_id=FED, area="110101", opened_from=None, opened_to=None, today=TODAY, shared=False
    )
    assert (report["cases"], report["closed"], report["overdue"], report["escalated"]) == (
        2,
        0,
        0,
        0,
    )


async def test_today_is_the_date_in_the_programme_time_zone(
    open_rights: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # UTC+14: for ten hours of every day its date is not the server's UTC date
    monkeypatch.setenv("JINGUO_TIME_ZONE", "Pacific/Kiritimati")
    runtime = await open_rights()
    handlers = handlers_for(runtime)
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    ann, _, _ = await staff(handlers)
    opened = await handlers.open_case(ann, intake(today.isoformat()), context())
    assert opened.events[0].opened_on == today  # type: ignore[attr-defined]
    tomorrow = (today + timedelta(days=1)).isoformat()
    with pytest.raises(InvalidCommandError, match=f"today is {today.isoformat()}"):
        await handlers.open_case(ann, intake(tomorrow), context())


async def test_only_the_rights_user_can_read_the_case_stream(
    handlers: RightsHandlers, rights: ServiceRuntime, nats_server: EmbeddedNats
) -> None:
    ann, _, _ = await staff(handlers)
    opened = await handlers.open_case(ann, intake("2026-11-20"), context())

    own = await nats.connect(nats_server.url, **nats_server.connect_options("rights"))
    try:
        message = await own.jetstream().get_msg("RIGHTS", opened.seq, direct=True)
        assert message.subject is not None
        assert message.data is not None
        assert message.subject.endswith(".CaseAssigned")
        first = await own.jetstream().get_msg("RIGHTS", opened.seq - 1, direct=True)
        assert first.data is not None
        assert b"CaseOpened" in first.data
        # the complainant's name and the summary are sealed in the log
        assert "王桂英".encode() not in first.data
        assert "怀孕".encode() not in first.data
    finally:
        await own.close()

    for service in ("employment", "registry"):
        other = await nats.connect(
            nats_server.url, allow_reconnect=False, **nats_server.connect_options(service)
        )
        js = other.jetstream(timeout=1)
        try:
            attempts = [
                asyncio.ensure_future(attempt)
                for attempt in (
                    js.get_msg("RIGHTS", opened.seq, direct=True),
                    js.get_msg("RIGHTS", opened.seq),
                    js.pull_subscribe("rights.>", durable=f"{service}_snoop", stream="RIGHTS"),
                    js.add_consumer("RIGHTS", durable_name=f"{service}_snoop2"),
                )
            ]
            done, pending = await asyncio.wait(attempts, timeout=10)
            assert not pending, "an attempt got no answer at all"
            # each one refused: a permissions violation, which nats-py reports as a timeout
            assert all(task.exception() is not None for task in done)
        finally:
            await other.close()


async def test_an_inspection_publishes_violations_employment_may_read(
    handlers: RightsHandlers, rights: ServiceRuntime, nats_server: EmbeddedNats
) -> None:
    ann, _, _ = await staff(handlers)
    inspection = await handlers.record_inspection(
        ann,
        RecordInspection(
            employer_id="emp-7",
            employer_name="北京某保洁服务有限公司",
            area_code="110101003",
            inspected_on=D("2026-11-10"),
            findings=[
                InspectionFinding(topic="labour_contract", compliant=True),
                InspectionFinding(topic="equal_pay", compliant=False, note="同岗女工工资低于男工"),
                InspectionFinding(
                    topic="protected_periods", compliant=False, note="孕期延长工作时间"
                ),
            ],
        ),
        context(),
    )
    assert inspection.stream == "INSPECTIONS"
    assert [e.event_type for e in inspection.events] == [
        "InspectionRecorded",
        "EmployerViolationFound",
    ]
    clean = await handlers.record_inspection(
        ann,
        RecordInspection(
            employer_id="emp-8",
            employer_name="东城区某养老驿站",
            area_code="110101001",
            inspected_on=D("2026-11-11"),
            findings=[InspectionFinding(topic="working_hours", compliant=True)],
        ),
        context(),
    )
    assert [e.event_type for e in clean.events] == ["InspectionRecorded"]
    with pytest.raises(Exception, match="no violation"):
        await handlers.rectify(
            ann, clean.aggregate_id, RectifyViolation(rectified_on=TODAY), context()
        )
    rectified = await handlers.rectify(
        ann, inspection.aggregate_id, RectifyViolation(rectified_on=D("2026-11-20")), context()
    )
    twice = await handlers.rectify(
        ann, inspection.aggregate_id, RectifyViolation(rectified_on=D("2026-11-20")), context()
    )
    assert twice.events == []

    # what employment sees, with its own NATS user: the violation, then the rectification
    employment = await nats.connect(nats_server.url, **nats_server.connect_options("employment"))
    try:
        events = [
            await read_event(employment.jetstream(), "INSPECTIONS", seq)
            for seq in range(1, rectified.seq + 1)
        ]
    finally:
        await employment.close()
    kinds = [(e.type, getattr(e.payload, "employer_id", None)) for e in events]
    assert kinds == [
        ("InspectionRecorded", "emp-7"),
        ("EmployerViolationFound", "emp-7"),
        ("InspectionRecorded", "emp-8"),
        ("ViolationRectified", "emp-7"),
    ]
    found = events[1].payload
    assert sorted(found.violations) == ["equal_pay", "protected_periods"]  # type: ignore[attr-defined]
    assert events[3].seq == rectified.seq

    from jinguo_rights.bootstrap import queries_for

    await rights.projections.wait_for(rectified.position, ["inspection_register"], 10)
    report = await queries_for(rights, handlers).report(
        agency_id=FED, area=None, opened_from=None, opened_to=None, today=TODAY, shared=False
    )
    assert (report["inspections"], report["violations_found"], report["violations_rectified"]) == (
        2,
        1,
        1,
    )
    assert report["violations_by_topic"] == {"equal_pay": 1, "protected_periods": 1}


async def scenario(handlers: RightsHandlers) -> CommandResult:
    ann, sam, cat = await staff(handlers)
    results: list[CommandResult] = []
    for n in range(12):
        category = ("labour", "domestic_violence", "marriage_family")[n % 3]
        opened = await handlers.open_case(
            ann if n % 4 else sam,
            intake(f"2026-10-{10 + n}", category=category, channel=("visit", "letter")[n % 2]),
            context(),
        )
        case_id = opened.aggregate_id
        if n % 4 == 0:
            await handlers.assign(sam, case_id, AssignCase(officer_id="ann"), context())
        await handlers.record_action(
            ann,
            case_id,
            RecordAction(
                action="legal_aid" if n % 2 else "mediation", taken_on=D("2026-11-02"), notes="约谈"
            ),
            context(),
        )
        if n % 5 == 0:
            referral = await handlers.refer(
                ann, case_id, ReferCase(to_agency_id=AID, reason="法律援助"), context()
            )
            referral_id = referral.events[0].referral_id  # type: ignore[attr-defined]
            await handlers.answer_referral(
                cat,
                case_id,
                referral_id,
                AnswerReferral(accepted=n % 2 == 0, reason="审查"),
                context(),
            )
        if n % 3 == 1:
            await handlers.close(
                ann,
                case_id,
                CloseCase(
                    outcome="violence_stopped",
                    complainant_satisfied=n % 2 == 0,
                    closed_on=D("2026-11-05"),
                ),
                context(),
            )
        if n % 6 == 0:
            await handlers.escalate(sam, case_id, context())
        results.append(
            await handlers.record_view(
                sam,
                case_id,
                complainant_id="c",
                case_agency_id=FED,
                basis="supervisor",
                purpose="检查",
                ctx=context(),
            )
        )
    return results[-1]


@pytest.fixture
async def known_agencies(jinguo_env: dict[str, str], rights: ServiceRuntime) -> None:
    """FED and AID as the registry registers them: a referral goes only to a known agency."""
    nc = await connect_nats(Settings(), jinguo_env["JINGUO_NATS_URL"], "test", user="registry")
    try:
        store = EventStore(nc, "registry", None)
        for agency_id, kind in ((FED, "womens_federation"), (AID, "legal_aid")):
            registered = AgencyRegisteredV1(
                agency_id=agency_id, name=agency_id, kind=kind, area_code="110101"
            )
            seq = await store.append("agency", agency_id, 0, [registered], context())
        await rights.projections.wait_for(f"REGISTRY:{seq}", ["api_clients"], 10)
    finally:
        await nc.close()


@pytest.mark.usefixtures("known_agencies")
async def test_a_replay_rebuilds_every_projection_to_exactly_the_live_state(
    handlers: RightsHandlers, rights: ServiceRuntime
) -> None:
    last = await scenario(handlers)
    names = rights.projections.names()
    assert set(names) >= {"case_files", "case_access_log", "officer_roster", "inspection_register"}
    inspected = await handlers.record_inspection(
        await handlers.viewer(FED, "ann"),
        RecordInspection(
            employer_id="emp-9",
            employer_name="某物业公司",
            area_code="110101002",
            inspected_on=D("2026-11-12"),
            findings=[InspectionFinding(topic="social_insurance", compliant=False)],
        ),
        context(),
    )
    await rights.projections.wait_for(last.position, names, 10)
    await rights.projections.wait_for(inspected.position, ["inspection_register"], 10)
    live = {name: await snapshot(rights, name) for name in names}
    assert len(live["case_files"]["cases"]) == 12
    assert len(live["case_access_log"]["case_reads"]) == 12
    rebuilt = await rights.projections.rebuild(*names)
    assert all(p.generation == 2 for p in rebuilt)
    for name in names:
        assert await snapshot(rights, name) == live[name], name
