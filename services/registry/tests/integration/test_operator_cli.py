"""`jinguo-registry issue-key`: how an operator gets the first API key of a deployment."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from jinguo_shared.http.security import Caller
from jinguo_shared.runtime import ServiceRuntime

JINGUO_REGISTRY = str(Path(sys.executable).parent / "jinguo-registry")


async def run(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        JINGUO_REGISTRY,
        *args,
        env=dict(os.environ),  # jinguo_env: this test's NATS, database and data dir
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def printed_key(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("API key")]
    return line.split()[-1]


async def test_an_operator_issues_the_first_key_and_the_api_accepts_it(
    registry: ServiceRuntime,
) -> None:
    code, out, err = await run(
        "issue-key", "--agency", "朝阳区妇联", "--kind", "womens_federation", "--area", "110105"
    )
    assert code == 0, err
    first = printed_key(out)
    caller = await wait_until_known(registry, first)
    assert {"registry:admin", "platform:admin"} <= caller.scopes
    assert caller.operator

    code, out, err = await run(
        "issue-key",
        "--agency",
        "朝阳区妇联",
        "--kind",
        "womens_federation",
        "--area",
        "110105",
        "--client",
        "reports",
        "--scope",
        "registry:read",
    )
    assert code == 0, err
    second = await wait_until_known(registry, printed_key(out))
    assert second.scopes == frozenset({"registry:read"})
    assert not second.operator
    assert second.agency_id == caller.agency_id  # the same agency, a second client


async def test_bad_input_is_a_readable_message_and_issues_nothing(
    registry: ServiceRuntime,
) -> None:
    before = (await registry.nc.jetstream().stream_info("REGISTRY")).state.messages
    code, out, err = await run("issue-key", "--agency", "x", "--kind", "bakery", "--area", "12")
    assert code == 2
    assert "--kind" in err
    assert "--area" in err
    code, out, err = await run(
        "issue-key",
        "--agency",
        "x",
        "--kind",
        "womens_federation",
        "--area",
        "110105",
        "--scope",
        "registry:everything",
    )
    assert code == 2, out
    assert "registry:everything" in err
    assert "API key" not in out
    assert (await registry.nc.jetstream().stream_info("REGISTRY")).state.messages == before


async def wait_until_known(registry: ServiceRuntime, api_key: str) -> Caller:
    for _ in range(100):
        try:
            return await registry.authenticator.authenticate(f"Bearer {api_key}")
        except Exception:  # not yet projected (and the negative answer is cached briefly)
            await asyncio.sleep(0.1)
    raise AssertionError("the issued key never became valid")
