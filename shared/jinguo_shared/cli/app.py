"""The `jinguo` command: its groups put together, and every error it expects on one line."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

import typer

from jinguo_shared.cli.backup import backup, erasures, restore
from jinguo_shared.cli.contracts import export_contracts
from jinguo_shared.cli.environment import UsageError
from jinguo_shared.cli.events import events
from jinguo_shared.cli.projections import projections
from jinguo_shared.cli.provision import DatabaseUnreachableError, provision
from jinguo_shared.cli.replay import replay
from jinguo_shared.cli.serve import serve_one
from jinguo_shared.cli.streams import streams
from jinguo_shared.cli.up import up
from jinguo_shared.projections.stream_reader import RebuildSlotsTakenError
from jinguo_shared.runtime import OutdatedProjectionsError, StreamsNotProvisionedError

app = typer.Typer(
    name="jinguo",
    help="Jinguo (巾帼) platform",
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(up)
app.command(name="serve")(serve_one)
app.command()(replay)
app.command()(provision)
app.add_typer(streams, name="streams")
app.add_typer(events, name="events")
app.add_typer(projections, name="projections")
app.command(name="contracts")(export_contracts)
app.command()(backup)
app.command()(restore)
app.add_typer(erasures, name="erasures")

REFUSALS = (
    UsageError,
    StreamsNotProvisionedError,
    OutdatedProjectionsError,
    RebuildSlotsTakenError,
    DatabaseUnreachableError,
)
"""What the operator can mend: said on stderr, exit code 2, never a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # keys, databases and the log: readable by their owner only
    command = typer.main.get_command(app)
    try:
        code = command.main(
            list(argv) if argv is not None else None, "jinguo", standalone_mode=False
        )
    except typer.TyperException as error:  # what click, vendored in typer, raises
        usage = getattr(error, "ctx", None)
        where = usage.command_path if usage is not None else "jinguo"
        hint = f" (see {where} --help)" if usage is not None else ""
        print(f"{where}: {error.format_message()}{hint}", file=sys.stderr)
        return error.exit_code
    except REFUSALS as error:
        print(f"jinguo: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError, typer.Abort):
        return 130
    return code if isinstance(code, int) else 0
