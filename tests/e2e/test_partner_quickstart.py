"""The README's partner quick start, followed as a new partner would against `jinguo up --demo`:
its commands run by bash and curl exactly as written, the `<…>` filled from earlier answers,
and each answer holding what the README says it holds (and what the AsyncAPI document says)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from jinguo_registry.domain.validation import make_national_id
from jinguo_shared.ports import free_port

from .conftest import start_up

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()


def quick_start() -> list[str]:
    """The commands of the quick start's shell block, each with its continuation lines."""
    section = README.split("## Partner quick start\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.startswith("#")):
            continue
        pending += line + ("\n" if line.endswith("\\") else "")
        if not line.endswith("\\"):
            commands.append(pending)
            pending = ""
    return commands


COMMANDS = quick_start()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class Partner:
    """A shell with the quick start's variables; curl writes each status code after the body
    (its `.curlrc`), so the commands run unchanged."""

    def __init__(self, base: str, data: Path) -> None:
        self.base = base
        self.data = data
        (data / ".curlrc").write_text('write-out = "\\n%{http_code}\\n"\n')
        setting = COMMANDS[0]
        assert setting.startswith("B=http://127.0.0.1:8000;")
        assert ".jinguo/dev-api-key" in setting
        self.setting = setting.replace("http://127.0.0.1:8000", base).replace(
            ".jinguo/dev-api-key", str(data / "dev-api-key")
        )
        self.filled: dict[str, str] = {}

    def command(self, fragment: str) -> str:
        found = [c for c in COMMANDS if fragment in c]
        assert len(found) == 1, f"the quick start has {len(found)} commands with {fragment!r}"
        command = found[0]
        for name, value in self.filled.items():
            command = command.replace(f"<{name}>", value)
        assert "<" not in command.split("#", 1)[0], f"unfilled: {command}"
        return command

    def script(self, fragment: str) -> str:
        """The command after the variables: the partner's key (`P`) once it has one."""
        key = [self.command('P="Authorization: Bearer ')] if "key" in self.filled else []
        return "\n".join([self.setting, *key, self.command(fragment)])

    def start(self, fragment: str) -> subprocess.Popen[str]:
        assert shutil.which("curl"), "the quick start needs curl"
        return subprocess.Popen(
            ["bash", "-c", self.script(fragment)],
            stdout=subprocess.PIPE,
            text=True,
            env={"PATH": "/usr/bin:/bin:/usr/local/bin", "CURL_HOME": str(self.data)},
        )

    def run(self, fragment: str, **fill: str) -> list[Answer]:
        self.filled.update(fill)
        output, _ = self.start(fragment).communicate(timeout=60)
        return answers(output)


def answers(output: str) -> list[Answer]:
    """Each curl's answer in `output`: headers (with -i), body, then its status code."""
    parts = re.split(r"\n(\d{3})\n", output)
    result = []
    for text, code in zip(parts[0::2], parts[1::2], strict=False):
        text = text.lstrip("\n")
        headers: dict[str, str] = {}
        if text.startswith("HTTP/"):
            head, _, text = text.partition("\n\n")  # universal newlines: no \r
            for line in head.splitlines()[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        result.append(Answer(int(code), headers, text))
    return result


def one(found: list[Answer], status: int = 200) -> Answer:
    assert len(found) == 1
    assert found[0].status == status, found[0].body
    return found[0]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("jinguo")
    port = free_port()
    process = start_up(data, port, data / "jinguo-up.log", "--demo")
    try:
        yield f"http://127.0.0.1:{port}", data
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) in (0, 130), "jinguo up did not stop on Ctrl-C"


def eventually(check: Any, seconds: float = 5) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert result
    return result


def test_a_new_partner_follows_the_quick_start(system: tuple[str, Path]) -> None:
    base, data = system
    partner = Partner(base, data)
    operator = {"Authorization": f"Bearer {(data / 'dev-api-key').read_text().strip()}"}
    document = httpx.get(f"{base}/asyncapi").json()

    # 1. a key
    agency = one(partner.run("-X POST $B/registry/agencies "), 201).json()
    client = one(partner.run("<agency>/clients -H", agency=agency["id"]), 201).json()
    assert client["api_key"].startswith("jg_")
    partner.filled.update(client=client["client_id"], key=client["api_key"])

    # 2. replay history, page after page, until one is empty
    first = eventually(lambda: [a for a in partner.run('feed?limit=1000"') if a.status == 200])[0]
    assert first.headers["content-type"] == "application/cloudevents-batch+json"
    position = first.headers["jinguo-next-position"]
    assert first.headers["link"].endswith('>; rel="next"')
    events = first.json()
    while page := one(partner.run("after=REGISTRY:<n>&limit=1000", n=position.split(":")[1])):
        position = page.headers["jinguo-next-position"]
        if not page.json():
            break
        events += page.json()
    assert len({e["id"] for e in events}) == len(events)
    sequence = [int(e["jinguoposition"].split(":")[1]) for e in events]
    assert sequence == sorted(sequence)
    registered = [e for e in events if e["type"] == "org.jinguo.registry.WorkerRegistered.v1"]
    assert len(registered) >= 300
    assert not any("name" in e["data"] or "phone" in e["data"] for e in registered)
    assert not any(".ApiClient" in e["type"] for e in events)
    batch = feed_validator(document, "registry")
    assert list(batch.iter_errors(events)) == []

    # 3. follow live: a worker registered meanwhile arrives at once
    partner.filled["n"] = position.split(":")[1]
    following = partner.start("&wait=30")
    time.sleep(1)
    started = time.monotonic()
    worker = register_worker(base, operator)
    output, _ = following.communicate(timeout=40)
    assert time.monotonic() - started < 10
    live = one(answers(output))
    assert f"worker/{worker}" in {e["subject"] for e in live.json()}
    assert live.headers["jinguo-next-position"] != position

    # 4. narrowed
    narrowed = one(partner.run("types=WorkerRegistered,CertificateIssued&area=110101001")).json()
    assert narrowed
    assert {e["type"].split(".")[3] for e in narrowed} <= {"WorkerRegistered", "CertificateIssued"}
    assert all(e["data"]["area_code"].startswith("110101001") for e in narrowed)
    elsewhere = httpx.get(
        f"{base}/registry/feed",
        params={"area": "110102"},
        headers={"Authorization": f"Bearer {client['api_key']}"},
    )
    assert elsewhere.status_code == 403
    inspections = one(partner.run("$B/rights/feed")).json()
    assert inspections
    assert all(e["type"].startswith("org.jinguo.inspections.") for e in inspections)
    assert list(feed_validator(document, "rights").iter_errors(inspections)) == []

    # 5. personal data under a grant, each disclosure recorded
    one(partner.run("grants/registry"))
    named = eventually(
        lambda: [
            e
            for e in one(partner.run("types=WorkerRegistered&limit=10")).json()
            if "name" in e["data"] and "phone" in e["data"]
        ]
    )
    assert list(batch.iter_errors(named)) == []
    subject = named[0]["data"]["worker_id"]
    partner.filled["worker"] = subject
    disclosed = eventually(
        lambda: [
            d
            for d in one(partner.run("$B/registry/disclosures/<worker>")).json()["items"]
            if d["client_id"] == client["client_id"]
        ]
    )
    assert disclosed[0]["fields"] == ["name", "phone"]
    assert disclosed[0]["purpose"] == "就业援助回访: 联系登记失业人员"
    assert disclosed[0]["channel"] == "feed"
    assert named[0]["id"] in disclosed[0]["event_ids"]

    # 6. read-your-writes across services
    (filled,) = one(partner.run("types=PostFilled&limit=1")).json()
    partner.filled.update(
        worker=filled["data"]["worker_id"], m=filled["jinguoposition"].split(":")[1]
    )
    assert one(partner.run("?after=EMPLOYMENT:<m>")).json()["status"] == "reemployed"

    # 7. the contracts, as committed
    openapi, asyncapi = partner.run("openapi.json; curl")
    assert openapi.status == asyncapi.status == 200
    assert "readFeed" in openapi.body
    published = ROOT / "contracts" / "published"
    assert asyncapi.json() == json.loads((published / "asyncapi.json").read_text())
    assert (
        openapi.json()["paths"].keys()
        == json.loads((published / "openapi" / "registry.json").read_text())["paths"].keys()
    )

    # 8. a problem
    problem = one(partner.run("after=EMPLOYMENT:1"), 400).json()
    assert problem["status"] == 400
    assert problem["type"].startswith("https://")

    # 9. webhooks are described in their own section
    assert "see [Signed webhooks](#signed-webhooks) below" in README
    assert "\n## Signed webhooks\n" in README


def feed_validator(document: dict[str, Any], service: str) -> Draft202012Validator:
    channel = document["channels"][f"{service}.feed"]
    reference = channel["messages"]["Batch"]["$ref"].removeprefix("#/components/messages/")
    payload = document["components"]["messages"][reference]["payload"]
    return Draft202012Validator({**payload, "components": document["components"]})


def register_worker(base: str, operator: dict[str, str]) -> str:
    answer = httpx.post(
        f"{base}/registry/workers",
        headers=operator,
        json={
            "name": "周桂芳",
            "national_id": make_national_id("110101", date(1979, 3, 8), 417, True),
            "phone": "13900139000",
            "area_code": "110101001001",
        },
    )
    assert answer.status_code == 201, answer.text
    worker_id: str = answer.json()["id"]
    return worker_id
