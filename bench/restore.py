"""Restore benchmark: snapshot the REGISTRY stream of N realistic events and restore it into a
fresh nats-server, as `jinguo backup` and `jinguo restore` do.

    .venv/bin/python bench/restore.py [--events 1000000]

Fills the stream as bench/replay.py does (its own nats-server, default sync policy), takes a
JetStream snapshot into a directory, stops that server, starts another on an empty store and
restores the snapshot into it. Prints the seconds of each step and the snapshot's size; the
replay that follows a restore is bench/replay.py's figure. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats

from bench._common import admin_url, nats_server, temp_dir, write_json
from bench.replay import fill
from jinguo_shared.backup import restore_stream, snapshot_stream
from jinguo_shared.embedded_nats import EmbeddedNats
from jinguo_shared.ports import free_port

STREAM = "REGISTRY"


async def main(events: int) -> dict[str, Any]:
    with temp_dir("restore") as workdir:
        backup = workdir / "backup"
        backup.mkdir()
        async with nats_server(workdir / "nats", sync="default") as server:
            filled = await fill(admin_url(server), workdir, events, 256, 2)
            nc = await nats.connect(admin_url(server))
            try:
                started = time.perf_counter()
                taken = await snapshot_stream(nc, STREAM, backup)
                snapshot_seconds = time.perf_counter() - started
            finally:
                await nc.close()
        fresh = EmbeddedNats(workdir / "fresh", free_port(), sync="default")
        await fresh.start()
        try:
            nc = await nats.connect(admin_url(fresh))
            try:
                started = time.perf_counter()
                restored = await restore_stream(nc, STREAM, backup)
                restore_seconds = time.perf_counter() - started
            finally:
                await nc.close()
        finally:
            fresh.stop()
    return {
        "events": events,
        "fill_seconds": filled["seconds"],
        "snapshot_seconds": snapshot_seconds,
        "snapshot_bytes": taken.bytes,
        "restore_seconds": restore_seconds,
        "restored_last_seq": restored.last_seq,
    }


def entry(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args(argv)
    report = asyncio.run(main(options.events))
    print(
        f"{report['events']:,} events: snapshot {report['snapshot_seconds']:.1f} s"
        f" ({report['snapshot_bytes'] / 2**20:.0f} MiB), restore into a fresh nats-server"
        f" {report['restore_seconds']:.1f} s (last sequence {report['restored_last_seq']:,})"
    )
    write_json(options.json, report)


if __name__ == "__main__":
    entry()
