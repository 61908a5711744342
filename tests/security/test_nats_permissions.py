"""What a stolen service credential can do on NATS: exactly what README.md's "NATS
permissions" tables say, asked of a real nats-server cell by cell; and the attacks one would
try, each shown to fail.

Both configurations run: the embedded server's (`jinguo up`, the tests) and the accounts of
deploy/nats/values.yaml as the Helm chart renders them. The streams are provisioned with the
admin user first, as `jinguo streams provision` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig, StreamConfig, StreamSource

from jinguo_shared.embedded_nats import EmbeddedNats, nats_server_binary
from jinguo_shared.eventstore import SERVICE_STREAMS, provision_streams, stream_config
from jinguo_shared.natsauth import ADMIN_USER, inbox_prefix, lanes
from jinguo_shared.ports import free_port
from jinguo_shared.runtime import PROVISION_HINT, StreamsNotProvisionedError
from jinguo_shared.services import discover_services
from jinguo_shared.testing import runtimes

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VALUES = ROOT / "deploy" / "nats" / "values.yaml"
USERS = ("registry", "employment", "orders", "rights")
STREAMS = tuple(spec.name for spec in SERVICE_STREAMS.values())
PREFIXES = {spec.name: prefix for prefix, spec in SERVICE_STREAMS.items()}
STRANGER = "snoop"
SECRET = b"confidential: case details"


# --------------------------------------------------------------------------- the README tables


def readme_table(header: str) -> list[list[str]]:
    """The rows (as cells) of the table under `header` in README.md's "NATS permissions"."""
    text = README.read_text()
    lines = text[text.index("\n## NATS permissions\n") :].splitlines()
    rows = []
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert rows, f"README.md: no rows under {header}"
    return rows


def users_in(cell: str) -> frozenset[str]:
    found = frozenset() if cell == "—" else frozenset(cell.split(", "))
    assert found <= set(USERS), f"README.md: not users: {cell}"
    return found


@dataclass(frozen=True)
class Row:
    action: str
    """`publish` (a request is one) or `subscribe`."""
    template: str
    allowed: dict[str, frozenset[str]]
    """The users allowed, per stream ("" for an account-wide row)."""

    @classmethod
    def parse(cls, cells: list[str], columns: tuple[str, ...]) -> Row:
        action = "subscribe" if cells[0].startswith("subscribe ") else "publish"
        template = re.findall(r"`([^`]+)`", cells[0])[0]
        allowed = {c: users_in(cell) for c, cell in zip(columns, cells[1:], strict=True)}
        return cls(action, template, allowed)


def stream_rows() -> list[Row]:
    header = "| subject | " + " | ".join(f"`{s}`" for s in STREAMS) + " |"
    return [Row.parse(cells, STREAMS) for cells in readme_table(header)]


def account_rows() -> list[Row]:
    return [Row.parse(cells, ("",)) for cells in readme_table("| subject | users |")]


def readme_consumers() -> dict[tuple[str, str], frozenset[str]]:
    """(user, stream): the consumers the README gives it, `_{1..4}` spelt out."""
    consumers = {}
    for user, stream, names in readme_table("| user | stream | its consumers |"):
        spelt: set[str] = set()
        for name in re.findall(r"`([^`]+)`", names):
            if ranged := re.fullmatch(r"(.*)\{1\.\.(\d+)\}", name):
                spelt |= {f"{ranged[1]}{n}" for n in range(1, int(ranged[2]) + 1)}
            else:
                spelt.add(name)
        consumers[(user, stream.strip("`"))] = frozenset(spelt)
    return consumers


def filled(template: str, **values: str) -> str:
    for placeholder, value in values.items():
        template = template.replace(f"<{placeholder.replace('_', ' ')}>", value)
    assert "<" not in template, f"README.md: unknown placeholder in {template}"
    return template


def stream_values(stream: str) -> dict[str, str]:
    prefix = PREFIXES[stream]
    return {
        "stream": stream,
        "prefix": prefix,
        "aggregate": "probe",
        "id": "p1",
        "Event": "Probed",
        "subject": f"{prefix}.probe.p1.Probed",
    }


@dataclass(frozen=True)
class Probe:
    user: str
    action: str
    subject: str
    expected: bool


def the_matrix() -> tuple[int, list[Probe]]:
    """Every cell of the tables (user × row × stream), and the probes that ask them: a
    consumer row once per consumer name of every lane, and a stranger's."""
    consumers = readme_consumers()
    every_name = sorted({name for names in consumers.values() for name in names} | {STRANGER})
    cells = 0
    probes = []
    for row in stream_rows():
        for stream in STREAMS:
            for user in USERS:
                cells += 1
                allowed = user in row.allowed[stream]
                values = stream_values(stream)
                if "<own consumer>" not in row.template:
                    probes.append(Probe(user, row.action, filled(row.template, **values), allowed))
                    continue
                own = consumers.get((user, stream), frozenset())
                for name in every_name:
                    subject = filled(row.template, own_consumer=name, **values)
                    probes.append(Probe(user, row.action, subject, allowed and name in own))
    for row in account_rows():
        for user in USERS:
            cells += 1
            allowed = user in row.allowed[""]
            for other in [u for u in (*USERS, ADMIN_USER) if u != user]:
                subject = filled(row.template, own=user, another_user=other)
                probes.append(Probe(user, row.action, subject, allowed))
    return cells, list({probe: None for probe in probes})


def test_the_readme_names_the_consumers_each_service_uses() -> None:
    """The consumers table is the lanes the code reads from the services' definitions."""
    from_code = {
        (service, stream): frozenset(names)
        for service, lane in lanes(discover_services()).items()
        for stream, names in lane.consumers.items()
    }
    assert readme_consumers() == from_code


def test_the_matrix_has_every_user_verb_and_stream() -> None:
    """Guards the guard: the tables are read whole, with the cells that matter."""
    rows = {row.template: row for row in stream_rows()}
    assert rows["$JS.API.STREAM.UPDATE.<stream>"].allowed == {s: frozenset() for s in STREAMS}
    assert rows["$JS.API.DIRECT.GET.<stream>"].allowed["RIGHTS"] == {"rights"}
    assert len(rows) >= 30
    cells, probes = the_matrix()
    assert cells == len(rows) * len(STREAMS) * len(USERS) + len(account_rows()) * len(USERS)
    delete = "$JS.API.CONSUMER.DELETE.INSPECTIONS.employment_policy_inspections"
    assert Probe("orders", "publish", delete, False) in probes
    assert Probe("employment", "publish", delete, True) in probes


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    url: str
    passwords: dict[str, str]


@dataclass
class User:
    """A connection as one NATS user, keeping the permission violations the server reports."""

    name: str
    nc: NatsClient
    errors: list[str] = field(default_factory=list)
    probes: int = 0

    @property
    def js(self) -> Any:
        return self.nc.jetstream(timeout=1)

    def violations(self) -> str:
        return " ".join(self.errors).lower()

    async def may(self, action: str, subject: str) -> bool:
        """Whether the server lets this user publish (or subscribe) `subject`.

        A publish denied to everyone follows the probe: the server reports violations in
        order, so once it reports that one, it has answered the probe. (A flush is no such
        mark: nats-py may send its PING ahead of the commands it still holds.)"""
        self.errors.clear()
        if action == "subscribe":
            subscription = await self.nc.subscribe(subject)
        else:
            await self.nc.publish(subject, b"", reply=f"{inbox_prefix(self.name)}.probe")
        self.probes += 1
        mark = f"probe.answered.{self.probes}"
        await self.nc.publish(mark, b"")
        for _ in range(500):
            if any(f'"{mark}"' in error for error in self.errors):
                break
            await self.nc.flush()
        else:
            raise AssertionError(f"the server never refused {mark}")
        if action == "subscribe":
            await subscription.unsubscribe()
        kind = "subscription" if action == "subscribe" else "publish"
        refusal = f'permissions violation for {kind} to "{subject.lower()}"'
        answers = [error.lower() for error in self.errors if f'"{mark}"' not in error]
        assert all(refusal in answer for answer in answers), answers
        return not answers


async def connect(server: Server, user: str) -> User:
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    options: dict[str, Any] = {}
    if user != ADMIN_USER:
        options["inbox_prefix"] = inbox_prefix(user)
    nc = await nats.connect(
        server.url,
        user=user,
        password=server.passwords[user],
        error_cb=on_error,
        allow_reconnect=False,
        **options,
    )
    return User(user, nc, errors)


def chart_config(values: dict[str, Any], port: int, store_dir: Path) -> str:
    """The server config the chart renders from the values, minus cluster and monitoring:
    JSON, with the strings `<< $VAR >>` unquoted (environment variable references)."""
    config = {
        "listen": f"127.0.0.1:{port}",
        "jetstream": {"store_dir": str(store_dir)},
        **values["config"]["merge"],
    }
    return re.sub(r'"<<\s+(.*?)\s+>>"', r"\1", json.dumps(config, indent=2))


@pytest.fixture(params=["embedded", "helm"])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Server]:
    """A nats-server with either configuration, every stream provisioned by the admin."""
    if request.param == "embedded":
        embedded = EmbeddedNats(tmp_path / "nats", free_port())
        await embedded.start()
        stop = embedded.stop
        passwords = {user: embedded.connect_options(user)["password"] for user in USERS}
        passwords[ADMIN_USER] = embedded.connect_options(ADMIN_USER)["password"]
        url = embedded.url
    else:
        yaml = pytest.importorskip("yaml")
        port = free_port()
        config = tmp_path / "nats.conf"
        config.write_text(chart_config(yaml.safe_load(VALUES.read_text()), port, tmp_path / "js"))
        passwords = {user: "p" + os.urandom(24).hex() for user in (*USERS, ADMIN_USER, "sys")}
        environment = {f"{user.upper()}_NATS_PASSWORD": pw for user, pw in passwords.items()}
        log = tmp_path / "nats-server.log"
        with log.open("w") as output:  # it logs every violation: never a pipe that fills
            process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
                [nats_server_binary(), "-c", str(config)],
                env={**os.environ, **environment},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        stop = process.terminate
        url = f"nats://127.0.0.1:{port}"
        for _ in range(200):
            assert process.poll() is None, log.read_text()
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.025)
    try:
        admin = await connect(Server(url, passwords), ADMIN_USER)
        await provision_streams(admin.nc, list(SERVICE_STREAMS.values()), 1)
        await admin.nc.close()
        yield Server(url, passwords)
    finally:
        stop()


@pytest.fixture
async def users(server: Server) -> AsyncIterator[dict[str, User]]:
    """A connection for every service user and the admin."""
    connected = {user: await connect(server, user) for user in (*USERS, ADMIN_USER)}
    yield connected
    for user in connected.values():
        await user.nc.close()


# --------------------------------------------------------------------------- the whole matrix


async def test_the_server_answers_every_cell_as_the_readme_says(
    server: Server, users: dict[str, User], request: pytest.FixtureRequest
) -> None:
    cells, probes = the_matrix()
    differing = []
    for probe in probes:
        allowed = await users[probe.user].may(probe.action, probe.subject)
        if allowed != probe.expected:
            verdict = "allows" if allowed else "refuses"
            differing.append(f"the server {verdict} {probe.user}: {probe.action} {probe.subject}")
    assert not differing, "\n".join(differing)
    flavour = request.node.callspec.params["server"]
    print(f"\n{flavour}: {cells} cells of the README's tables, {len(probes)} probes, all as said")


# --------------------------------------------------------------------------- the four findings


async def let_through(*attempts: Awaitable[Any]) -> int:
    """How many of the attempts the server let through (all should be refused)."""
    results = await asyncio.gather(*attempts, return_exceptions=True)
    return sum(not isinstance(result, BaseException) for result in results)


async def messages(admin: User, stream: str) -> int:
    return int((await admin.js.stream_info(stream)).state.messages)


async def test_employment_cannot_copy_rights_into_its_stream(users: dict[str, User]) -> None:
    """Finding: a stream update adding `sources: RIGHTS` made the server copy every case."""
    rights, employment, admin = users["rights"], users["employment"], users[ADMIN_USER]
    await rights.js.publish("rights.case.c1.CaseOpened", SECRET)
    copy = [StreamSource(name="RIGHTS")]
    sourcing = (await employment.js.stream_info("EMPLOYMENT")).config  # deny flags and all
    sourcing.sources = copy
    allowed = await let_through(
        employment.js.update_stream(sourcing),
        employment.js.add_stream(StreamConfig(name="COPY", sources=copy)),
        employment.js.add_stream(StreamConfig(name="MIRROR", mirror=copy[0])),
    )
    assert allowed == 0
    for subject in ("update.employment", "create.copy", "create.mirror"):
        assert f'publish to "$js.api.stream.{subject}"' in employment.violations()
    config = await stream_config(admin.nc, "EMPLOYMENT")
    assert config is not None
    assert "sources" not in config
    assert await messages(admin, "EMPLOYMENT") == 0
    names = await admin.nc.request("$JS.API.STREAM.NAMES", b"", timeout=2)
    assert json.loads(names.data)["streams"] == sorted(STREAMS)


async def test_employment_cannot_shrink_or_purge_its_own_history(users: dict[str, User]) -> None:
    """Finding: `max_msgs: 1` on its own stream threw the history away, deny flags or not."""
    employment, admin = users["employment"], users[ADMIN_USER]
    for n in range(3):
        await employment.js.publish(f"employment.employer.e{n}.EmployerRegistered", b"{}")
    shrunk = (await employment.js.stream_info("EMPLOYMENT")).config
    shrunk.max_msgs = 1
    allowed = await let_through(
        employment.js.update_stream(shrunk),
        employment.js.purge_stream("EMPLOYMENT"),
        employment.nc.request("$JS.API.STREAM.MSG.DELETE.EMPLOYMENT", b'{"seq": 1}', timeout=1),
        employment.js.delete_stream("EMPLOYMENT"),
        employment.nc.request(
            "$JS.API.STREAM.SNAPSHOT.EMPLOYMENT",
            json.dumps({"deliver_subject": f"{inbox_prefix('employment')}.snap"}).encode(),
            timeout=1,
        ),
    )
    assert allowed == 0
    for verb in ("update", "purge", "msg.delete", "delete", "snapshot"):
        assert f'publish to "$js.api.stream.{verb}.employment"' in employment.violations()
    assert await messages(admin, "EMPLOYMENT") == 3


async def test_orders_cannot_replace_the_policy_that_suspends_violating_employers(
    users: dict[str, User],
) -> None:
    """Finding: orders deleted `employment_policy_inspections` and made it filter nothing, so
    a violation no longer suspended the employer."""
    employment, orders, rights, admin = (
        users["employment"],
        users["orders"],
        users["rights"],
        users[ADMIN_USER],
    )
    policy = "employment_policy_inspections"
    wanted = ["inspections.inspection.*.EmployerViolationFound"]
    await employment.js.add_consumer(
        "INSPECTIONS", ConsumerConfig(name=policy, durable_name=policy, filter_subjects=wanted)
    )
    allowed = await let_through(
        orders.js.delete_consumer("INSPECTIONS", policy),
        orders.js.add_consumer(
            "INSPECTIONS",
            ConsumerConfig(name=policy, durable_name=policy, filter_subjects=["nothing.at.all"]),
        ),
        orders.js.add_consumer(
            "INSPECTIONS", ConsumerConfig(durable_name=policy, filter_subject="nothing.at.all")
        ),
    )
    assert allowed == 0
    for verb in ("delete", "create", "durable.create"):
        subject = f'"$js.api.consumer.{verb}.inspections.{policy}"'
        assert subject in orders.violations()
    await rights.js.publish("inspections.inspection.i1.EmployerViolationFound", b"{}")
    info = await admin.js.consumer_info("INSPECTIONS", policy)
    assert info.config.filter_subjects == wanted
    assert info.num_pending == 1, "the violation waits for employment's policy"


async def test_only_the_rights_user_learns_that_rights_exists(users: dict[str, User]) -> None:
    """Finding: every service user saw RIGHTS' configuration and message count through
    stream list and info."""
    rights = users["rights"]
    await rights.js.publish("rights.case.c1.CaseOpened", SECRET)
    assert (await rights.js.stream_info("RIGHTS")).state.messages == 1
    for name in ("registry", "employment", "orders"):
        other = users[name]
        allowed = await let_through(
            other.js.stream_info("RIGHTS"),
            other.js.streams_info(),
            other.js.find_stream_name_by_subject("rights.case.c1.CaseOpened"),
            other.js.account_info(),
        )
        assert allowed == 0, name
        for subject in ("stream.info.rights", "stream.list", "stream.names", "info"):
            assert f'publish to "$js.api.{subject}"' in other.violations(), (name, subject)


# --------------------------------------------------------------------------- other attacks


async def test_another_services_subjects_consumers_and_inboxes_are_out_of_reach(
    users: dict[str, User],
) -> None:
    employment, orders, registry, rights, admin = (
        users["employment"],
        users["orders"],
        users["registry"],
        users["rights"],
        users[ADMIN_USER],
    )
    policy = "employment_policy_inspections"
    await employment.js.add_consumer(
        "INSPECTIONS",
        ConsumerConfig(name=policy, durable_name=policy, filter_subjects=["inspections.>"]),
    )
    await rights.js.publish("inspections.inspection.i1.EmployerViolationFound", b"{}")
    await rights.js.publish("inspections.inspection.i2.EmployerViolationFound", b"{}")
    await rights.js.publish("rights.case.c1.CaseOpened", SECRET)
    feed = await employment.js.pull_subscribe_bind(policy, stream="INSPECTIONS")
    [taken] = await feed.fetch(1, timeout=2)  # delivered, not acknowledged yet

    seen: list[bytes] = []

    async def collect(message: Any) -> None:
        seen.append(message.data)

    for subject in (f"{inbox_prefix('rights')}.>", "_INBOX.>", "rights.>", ">"):
        await registry.nc.subscribe(subject, cb=collect)
    allowed = await let_through(
        orders.js.publish("employment.employer.e1.EmployerSuspended", b"forged"),
        orders.nc.request(
            f"$JS.API.CONSUMER.MSG.NEXT.INSPECTIONS.{policy}", b'{"batch": 1}', timeout=1
        ),
        orders.nc.request(taken.reply, b"+ACK", timeout=1),
        registry.js.get_msg("RIGHTS", 1, direct=True),
        registry.js.get_last_msg("RIGHTS", "rights.case.c1.CaseOpened", direct=True),
        registry.js.get_msg("RIGHTS", 1),
        registry.nc.request(
            "$JS.API.STREAM.SNAPSHOT.RIGHTS",
            json.dumps({"deliver_subject": f"{inbox_prefix('registry')}.snap"}).encode(),
            timeout=1,
        ),
        registry.js.pull_subscribe("rights.>", durable="registry_projections_rights"),
    )
    assert allowed == 0
    await registry.nc.flush()
    for subject in (f"{inbox_prefix('rights')}.>", "_inbox.>", "rights.>", ">"):
        assert f'subscription to "{subject.lower()}"' in registry.violations()
    for subject in (
        "employment.employer.e1.employersuspended",
        f"$js.api.consumer.msg.next.inspections.{policy}",
        taken.reply.lower(),
    ):
        assert f'publish to "{subject}"' in orders.violations()
    # rights goes on with its own stream while registry listens everywhere it may not
    assert (await rights.js.get_msg("RIGHTS", 1, direct=True)).data == SECRET
    await registry.nc.flush()
    assert seen == []
    assert await messages(admin, "EMPLOYMENT") == 0
    info = await admin.js.consumer_info("INSPECTIONS", policy)
    assert (info.num_pending, info.num_ack_pending) == (1, 1), "orders neither pulled nor acked"
    await taken.ack()


async def test_a_push_consumer_cannot_deliver_into_another_stream(
    users: dict[str, User],
) -> None:
    """A consumer's configuration is its owner's, delivery subject included: one aimed at
    the registry's subjects delivers nothing, because a push consumer delivers only to a
    subscriber and no service user may subscribe there."""
    employment, admin = users["employment"], users[ADMIN_USER]
    name = "employment_projections_employment"
    await employment.js.publish("employment.employer.e1.EmployerRegistered", b"{}")
    await employment.js.add_consumer(
        "EMPLOYMENT",
        ConsumerConfig(
            name=name, durable_name=name, deliver_subject="registry.worker.w1.WorkerErased"
        ),
    )
    info = await admin.js.consumer_info("EMPLOYMENT", name)
    assert not info.push_bound, "nobody listens there, so it does not deliver"
    await admin.nc.flush()
    assert await messages(admin, "REGISTRY") == 0


# --------------------------------------------------------------------------- the services


async def test_running_services_use_only_the_consumers_of_their_lanes(
    jinguo_env: dict[str, str], nats_server: EmbeddedNats
) -> None:
    """Every service in one place, projectors, policies and webhooks running, each with its own
    user: the consumers on the server are those their lanes name, and nothing else."""
    by_service = lanes(discover_services())
    named = {
        (stream, name)
        for lane in by_service.values()
        for stream, names in lane.consumers.items()
        for name in names
    }
    live = {(stream, name) for stream, name in named if "_rebuild_" not in name}
    admin = await nats.connect(nats_server.url, **nats_server.connect_options(ADMIN_USER))
    try:
        async with contextlib.AsyncExitStack() as stack:
            for definition in discover_services():
                opener = await stack.enter_async_context(runtimes(definition, nats_server.url))
                definition.create_app(await opener("all"))  # its app starts the webhooks
            for _ in range(600):
                present = {
                    (stream, info.name)
                    for stream in STREAMS
                    for info in await admin.jetstream().consumers_info(stream)
                }
                assert present <= named, present - named
                if present >= live:
                    break
                await asyncio.sleep(0.05)
            assert present == live
    finally:
        await admin.close()


async def test_a_service_refuses_to_start_on_streams_not_as_provisioned(
    jinguo_env: dict[str, str], nats_server: EmbeddedNats
) -> None:
    from jinguo_employment.bootstrap import EmploymentService

    admin = await nats.connect(nats_server.url, **nats_server.connect_options(ADMIN_USER))
    try:
        await admin.jetstream().delete_stream("INSPECTIONS")
        config = await stream_config(admin, "EMPLOYMENT")
        assert config is not None
        await admin.request(
            "$JS.API.STREAM.UPDATE.EMPLOYMENT", orjson.dumps({**config, "max_msgs": 5})
        )
    finally:
        await admin.close()
    with pytest.raises(StreamsNotProvisionedError) as refused:
        async with runtimes(EmploymentService(), nats_server.url) as opener:
            await opener("api")
    assert str(refused.value).splitlines() == [
        "employment cannot start: the streams it writes or reads are not as provisioned:",
        "  EMPLOYMENT: max_msgs is 5, expected -1",
        "  INSPECTIONS: missing",
        PROVISION_HINT,
    ]
    await nats_server.provision()
    async with runtimes(EmploymentService(), nats_server.url) as opener:
        assert (await opener("api")).name == "employment"
