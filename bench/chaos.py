"""Chaos benchmark (`make chaos`): kill each kind of process under load and count what survived.

    .venv/bin/python bench/chaos.py [--seconds 40] [--clients 4] [--database both]

For each database (PostgreSQL when JINGUO_BENCH_POSTGRES_URL is set), in a temp dir: the
registry as production runs it (tests/chaos/scenario.py): an API process and a projector
process (`jinguo serve registry --role …`) on three clustered nats-servers (R3), `--clients`
HTTP clients registering workers and retrying each with its Idempotency-Key until it is
acknowledged. Over `--seconds`, the API process, the projector process and the REGISTRY
stream's leader are each killed with SIGKILL and started again. Prints per kill how long
registrations paused, and per run registrations acknowledged, in the log, in the directory, and
lost (acknowledged, not in the log), applied twice (in the log more than once) and stuck (in the
log, not in the directory after a minute). 127.0.0.1 only. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import chosen_databases, database, load_average, table, temp_dir, write_json
from tests.chaos.scenario import Report, run


async def main(options: argparse.Namespace) -> dict[str, Any]:
    print(f"load average at start: {load_average()}")
    reports: list[Report] = []
    for kind in chosen_databases(options.database):
        with temp_dir(f"chaos-{kind}") as directory:
            async with database(kind, directory) as url:
                reports.append(
                    await run(
                        directory, url, kind, seconds=options.seconds, clients=options.clients
                    )
                )
    print(
        table(
            ("database", "killed", "registrations paused s"),
            [
                (r.database, k.what, f"{k.writes_paused_seconds:.2f}")
                for r in reports
                for k in r.kills
            ],
        )
    )
    print(
        table(
            (
                "database",
                "s",
                "acknowledged",
                "retries",
                "retried after",
                "in log",
                "in directory",
                "lost",
                "applied twice",
                "stuck",
            ),
            [
                (
                    r.database,
                    f"{r.seconds:.1f}",
                    len(r.acknowledged),
                    r.retries,
                    ", ".join(f"{n} {what}" for what, n in sorted(r.refusals.items())),
                    len(r.in_log),
                    r.in_directory,
                    r.lost,
                    r.applied_twice,
                    r.stuck,
                )
                for r in reports
            ],
        )
    )
    print(f"load average at end: {load_average()}")
    return {
        "results": [
            {
                "database": r.database,
                "seconds": r.seconds,
                "acknowledged": len(r.acknowledged),
                "retries": r.retries,
                "retried_after": dict(r.refusals),
                "in_log": len(r.in_log),
                "in_directory": r.in_directory,
                "lost": r.lost,
                "applied_twice": r.applied_twice,
                "stuck": r.stuck,
                "kills": [{"what": k.what, "paused_s": k.writes_paused_seconds} for k in r.kills],
            }
            for r in reports
        ]
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--json", help="also write the figures to this file")
    arguments = parser.parse_args()
    write_json(arguments.json, asyncio.run(main(arguments)))
