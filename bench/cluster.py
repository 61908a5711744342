"""Cluster benchmark: how long the registry's writes are unavailable when a NATS node dies, and
when the REGISTRY stream's leader dies.

    .venv/bin/python bench/cluster.py [--runs 3] [--writers 4] [--down 3] [--database both]

For each database and run: three nats-servers clustered on 127.0.0.1 (R3 streams, fsync on every
write), the registry on them, `--writers` writers registering workers and retrying each command
until it is acknowledged (tests/cluster/scenario.py, which `tests/cluster` asserts on). Under that
load one follower is killed with SIGKILL and restarted `--down` seconds later, then the stream's
leader. Prints per outage the longest time without an acknowledged write from the kill until
writes flowed after the restart, and per run the commands acknowledged, retried, lost, applied
twice, and whether the directory equals a replay. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import chosen_databases, database, load_average, table, temp_dir, write_json
from jinguo_shared.embedded_nats import EmbeddedCluster
from tests.cluster.scenario import run


async def one(kind: str, options: argparse.Namespace, directory: Path) -> dict[str, Any]:
    async with database(kind, directory) as url:
        cluster = EmbeddedCluster(directory / "data" / "nats", 3)
        await cluster.start()
        try:
            await cluster.provision(replicas=3)
            os.environ.update(
                {
                    "JINGUO_DATA_DIR": str(directory / "data"),
                    "JINGUO_NATS_URL": cluster.url,
                    "JINGUO_STREAM_REPLICAS": "3",
                    "JINGUO_REGISTRY_DATABASE_URL": url,
                }
            )
            outcome = await run(cluster, writers=options.writers, steady=3.0, down=options.down)
        finally:
            cluster.stop(kill=True)
    return {
        "database": kind,
        "seconds": outcome.seconds,
        "acknowledged": len(outcome.acknowledged),
        "retries": outcome.retries,
        "lost": len(outcome.lost),
        "applied_twice": len(outcome.applied_twice),
        "projection_equal_to_replay": outcome.projection_equal_to_replay,
        "outages": [
            {
                "node": o.node,
                "leader": o.was_leader,
                "down_s": o.down_seconds,
                "writes_unavailable_s": o.longest_gap_seconds,
            }
            for o in outcome.outages
        ],
    }


async def main(options: argparse.Namespace) -> dict[str, Any]:
    print(f"load average at start: {load_average()}")
    results = []
    for kind in chosen_databases(options.database):
        for n in range(options.runs):
            with temp_dir(f"cluster-{kind}-{n}") as directory:
                results.append(await one(kind, options, directory))
    print(
        table(
            ("database", "killed", "killed to rejoined s", "writes unavailable s"),
            [
                (
                    r["database"],
                    f"{o['node']} ({'leader' if o['leader'] else 'follower'})",
                    f"{o['down_s']:.1f}",
                    f"{o['writes_unavailable_s']:.2f}",
                )
                for r in results
                for o in r["outages"]
            ],
        )
    )
    print(
        table(
            ("database", "s", "acknowledged", "retries", "lost", "applied twice", "replay equal"),
            [
                (
                    r["database"],
                    f"{r['seconds']:.1f}",
                    r["acknowledged"],
                    r["retries"],
                    r["lost"],
                    r["applied_twice"],
                    "yes" if r["projection_equal_to_replay"] else "NO",
                )
                for r in results
            ],
        )
    )
    print(f"load average at end: {load_average()}")
    return {"results": results}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--down", type=float, default=3.0)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--json", help="also write the figures to this file")
    arguments = parser.parse_args()
    write_json(arguments.json, asyncio.run(main(arguments)))
