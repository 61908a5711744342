"""An operator's mistake at the `jinguo` command is one readable line on stderr and exit code 2,
never a Python traceback: a wrong argument or option, an unknown service, subject, aggregate,
id, projection or file, an `--until` that is no time."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from jinguo_registry.bootstrap import RegistryService, handlers_for
from jinguo_registry.domain.validation import make_national_id
from jinguo_registry.handlers.commands import RegisterWorker
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.envelope import CommandContext
from jinguo_shared.testing import runtimes

MISTAKES = [
    (["replay", "registry", "--bogus"], "jinguo replay: No such option: --bogus"),
    (["serve", "registry", "--role", "boss"], "'boss' is not one of 'api', 'projector', 'all'"),
    (["projections", "retry", "registry", "first"], "Invalid value for 'id'"),
    (["events", "history", "registry"], "Missing argument 'aggregate'"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["replay", "nobody"], "unknown service 'nobody'; installed: registry, employment"),
    (["projections", "as-of", "nobody"], "unknown service 'nobody'"),
    (["events", "tail", "nowhere.worker.>"], "no stream for 'nowhere'; the streams are for:"),
    (["events", "tail", "registry"], "subject 'registry': e.g. registry.worker.>"),
    (["events", "tail", "registry.wor>ker"], "subject 'registry.wor>ker'"),
    (["events", "history", "nobody", "worker", "w1"], "no stream for 'nobody'"),
    (["events", "history", "registry", "worker", "w.1"], "id 'w.1': one word"),
    (
        ["events", "history", "registry", "unicorn", "u1"],
        "registry's log has no aggregate 'unicorn'",
    ),
    (["events", "export", "nobody", "out.ndjson"], "no stream for 'nobody'"),
    (["replay", "registry", "--projection", "nothing"], "registry has no projection 'nothing'"),
    (["projections", "parked", "registry", "--projection", "nothing"], "no projection 'nothing'"),
    (["projections", "drop", "registry", "nothing", "2"], "no projection 'nothing'"),
    (["replay", "registry", "--until", "last tuesday"], "--until: 'last tuesday' is not an ISO"),
]


def jinguo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "jinguo"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def assert_readable(answer: subprocess.CompletedProcess[str], message: str) -> None:
    assert "Traceback" not in answer.stderr, answer.stderr
    assert answer.returncode == 2, answer.stderr
    assert message in answer.stderr
    assert len(answer.stderr.strip().splitlines()) == 1, answer.stderr


@pytest.mark.parametrize(("args", "message"), MISTAKES)
def test_a_mistake_is_one_readable_line(
    args: list[str],
    message: str,
    nats_server: EmbeddedNats,
    jinguo_env: dict[str, str],
    tmp_path: Path,
) -> None:
    assert_readable(jinguo(*args, cwd=tmp_path), message)


async def test_a_missing_or_unreadable_file_is_named(
    nats_server: EmbeddedNats, jinguo_env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.ndjson"
    assert_readable(
        jinguo("events", "import", str(missing), cwd=tmp_path),
        f"{missing}: No such file or directory",
    )
    assert_readable(
        jinguo("events", "import", str(tmp_path), cwd=tmp_path), f"{tmp_path}: Is a directory"
    )
    binary = tmp_path / "binary.ndjson"
    binary.write_bytes(b"\xff\xfe\x00")
    assert_readable(
        jinguo("events", "import", str(binary), cwd=tmp_path),
        "not an export of `jinguo events export`",
    )
    nowhere = tmp_path / "no-such-dir" / "registry.ndjson"
    assert_readable(
        jinguo("events", "export", "registry", str(nowhere), cwd=tmp_path),
        f"{nowhere}: No such file or directory",
    )


async def test_history_of_an_unknown_id_names_it(
    nats_server: EmbeddedNats, jinguo_env: dict[str, str], tmp_path: Path
) -> None:
    async with runtimes(RegistryService(), nats_server.url) as open_registry:
        registry = await open_registry("tool")
        command = RegisterWorker(
            name="历史",
            national_id=make_national_id("110101", date(1975, 1, 1), 1, female=True),
            phone="13900000001",
            area_code="110101001001",
        )
        context = CommandContext(command_id="history-1", correlation_id="history-1", actor="test")
        await handlers_for(registry).register_worker(command, context)

    answer = jinguo("events", "history", "registry", "worker", "w-nobody", cwd=tmp_path)

    assert_readable(answer, "registry has no worker 'w-nobody' in its log")
