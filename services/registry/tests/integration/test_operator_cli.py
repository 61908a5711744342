"""`jinguo-registry issue-key`: how an operator gets the first API key of a deployment."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import select

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
    code, out, err = await run(
        "issue-key", "--agency", "x", "--kind", "bakery", "--area", "1234567"
    )
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


AREAS_CSV = """code,name,urban,year,households,residents,women
430102001001,韭菜园社区,true,2026,3200,9100,4650
43,湖南省,,,,,
4301,长沙市,,,,,
430102,芙蓉区,true,2026,150000,420000,212000
430102001,文艺路街道,,,,,
430102101001,东岸村,false,2026,800,2600,1250
430102101,东岸乡,false,,,,
"""


async def test_an_operator_loads_the_register_of_areas_once(
    registry: ServiceRuntime, tmp_path: Path
) -> None:
    areas = tmp_path / "areas.csv"
    areas.write_text(AREAS_CSV)
    code, out, err = await run("areas", str(areas))
    assert code == 0, err
    assert "7 areas read: 7 registered, 0 renamed, 3 population figures recorded" in out
    position = out.rsplit("(position ", 1)[1].rstrip(")\n")
    await registry.projections.wait_for(position, ["programme_register"], 10)
    register = registry.projections.active("programme_register")
    async with registry.engine.connect() as connection:
        table = register.metadata.tables[f"areas_g{register.generation}"]
        rows = {row.area_code: row for row in await connection.execute(select(table))}
    # the short forms are stored in the one form every service uses
    assert sorted(rows) == [
        "430000",
        "430100",
        "430102",
        "430102001",
        "430102001001",
        "430102101",
        "430102101001",
    ]
    assert (rows["430102101001"].level, rows["430102101001"].urban) == ("community", False)
    assert rows["430102001001"].parent_code == "430102001"

    # the same file again records nothing; a renamed row is one rename
    again, out, err = await run("areas", str(areas))
    assert again == 0, err
    assert "0 registered, 0 renamed, 0 population figures recorded" in out
    areas.write_text(AREAS_CSV.replace("韭菜园社区", "韭菜园新社区"))
    renamed, out, err = await run("areas", str(areas))
    assert renamed == 0, err
    assert "0 registered, 1 renamed" in out


async def test_a_bad_areas_file_records_nothing_and_names_its_rows(
    registry: ServiceRuntime, tmp_path: Path
) -> None:
    before = (await registry.nc.jetstream().stream_info("REGISTRY")).state.messages
    bad = tmp_path / "areas.csv"
    bad.write_text(
        "code,name,urban,year,households,residents,women\n"
        "430102,芙蓉区,,,,,\n"
        "990102,不存在,,,,,\n"
        "430102001,文艺路街道,maybe,,,,\n"
        "430102001001,韭菜园社区,,2026,10,20,30\n"
    )
    code, _, err = await run("areas", str(bad))
    assert code == 2
    assert "3 bad rows, nothing recorded" in err
    assert "line 3: area_code: 99 is not a province code" in err
    assert "line 4: urban: 'maybe' is neither true nor false" in err
    assert "line 5: women (30) outnumber residents (20)" in err
    for path, message in ((tmp_path / "missing.csv", "no such file"), (tmp_path, "directory")):
        code, _, err = await run("areas", str(path))
        assert code == 2
        assert message in err
    assert (await registry.nc.jetstream().stream_info("REGISTRY")).state.messages == before
