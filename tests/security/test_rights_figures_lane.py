"""The rights figures leave the rights service; its cases do not. A service whose definition
follows `inspections.figures.>` (as the registry's year-end sheet will) gets, from the lanes
natsauth derives, a user that reads the figures on INSPECTIONS and still nothing of RIGHTS;
asked of a real nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig

from jinguo_contracts.inspections import RightsFiguresPublishedV1
from jinguo_shared import embedded_nats
from jinguo_shared.consumer_names import projections_consumer
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.envelope import CommandContext
from jinguo_shared.eventstore import EventStore
from jinguo_shared.natsauth import ADMIN_USER, lanes
from jinguo_shared.ports import free_port
from jinguo_shared.projections.base import Projection
from jinguo_shared.reactions import Policy
from jinguo_shared.services import discover_services

SECRET = b"confidential: case details"


class SheetFigures(Projection):
    """What the registry's year-end sheet follows: the rights figures, nothing else."""

    name = "sheet_figures"
    subjects = ("inspections.figures.>",)

    def define(self) -> None:
        pass


@dataclass(frozen=True)
class WithSheet:
    name: str
    projections: Sequence[type[Projection]]
    policy_types: Sequence[type[Policy]]


def with_the_sheet() -> list[Any]:
    """The installed services, the registry also following the figures."""
    found: list[Any] = []
    for definition in discover_services():
        if definition.name == "registry":
            definition = WithSheet(
                "registry",
                [*definition.projections, SheetFigures],
                getattr(definition, "policy_types", ()),
            )
        found.append(definition)
    return found


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EmbeddedNats]:
    monkeypatch.setattr(embedded_nats, "discover_services", with_the_sheet)
    embedded = EmbeddedNats(tmp_path / "nats", free_port())
    await embedded.start()
    await embedded.provision()
    yield embedded
    embedded.stop()


async def connect(server: EmbeddedNats, user: str, errors: list[str]) -> NatsClient:
    async def on_error(error: Exception) -> None:
        errors.append(str(error).lower())

    return await nats.connect(
        server.url, error_cb=on_error, allow_reconnect=False, **server.connect_options(user)
    )


def context(command_id: str) -> CommandContext:
    return CommandContext(command_id=command_id, correlation_id=command_id, actor="test")


async def test_the_registry_reads_the_figures_and_still_nothing_of_rights(
    server: EmbeddedNats,
) -> None:
    lane = lanes(with_the_sheet())["registry"]
    consumer = projections_consumer("registry", "INSPECTIONS")
    assert consumer in lane.consumers["INSPECTIONS"]
    assert "RIGHTS" not in lane.streams

    rights_errors: list[str] = []
    rights = await connect(server, "rights", rights_errors)
    admin = await nats.connect(server.url, **server.connect_options(ADMIN_USER))
    errors: list[str] = []
    registry = await connect(server, "registry", errors)
    try:
        figures = RightsFiguresPublishedV1(
            figures_id="110101-2026",
            kind="area",
            area_code="110101",
            area_level="district",
            agency_id=None,
            year=2026,
            figures={"cases_opened": {"2026-03": 7, "2026": "<5"}},
        )
        await EventStore(rights, "inspections", None).append(
            "figures", "110101-2026", 0, [figures], context("c1")
        )
        await rights.jetstream().publish("rights.case.c1.CaseOpened", SECRET)
        assert rights_errors == []

        js = registry.jetstream(timeout=2)
        await js.add_consumer(
            "INSPECTIONS",
            ConsumerConfig(
                name=consumer, durable_name=consumer, filter_subjects=["inspections.figures.>"]
            ),
        )
        subscription = await js.pull_subscribe_bind(consumer, stream="INSPECTIONS")
        [message] = await subscription.fetch(1, timeout=2)
        assert message.subject == "inspections.figures.110101-2026.RightsFiguresPublished"
        await message.ack()

        refused = "rights_projections_rights"
        for subject in (
            "$JS.API.STREAM.INFO.RIGHTS",
            "$JS.API.DIRECT.GET.RIGHTS",
            f"$JS.API.CONSUMER.CREATE.RIGHTS.{consumer}",
            f"$JS.API.CONSUMER.CREATE.RIGHTS.{refused}",
            f"$JS.API.CONSUMER.MSG.NEXT.RIGHTS.{refused}",
        ):
            with pytest.raises(nats.errors.Error):
                await registry.request(subject, b'{"seq": 2}', timeout=0.5)
            refusal = f'permissions violation for publish to "{subject.lower()}"'
            for _ in range(500):  # the server's refusal reaches the error callback
                if any(refusal in e for e in errors):
                    break
                await registry.flush()
            else:
                raise AssertionError(f"{subject} was not refused: {errors}")
        info = await admin.jetstream().stream_info("RIGHTS")
        assert info.state.messages == 1  # there is something to read, and it was refused
    finally:
        for client in (registry, rights, admin):
            await client.close()
