"""`jinguo replay`: rebuild a service's projections from the log, or an "as of" copy."""

from __future__ import annotations

import time
from datetime import datetime

import typer

from jinguo_shared.cli.environment import UsageError, nats_url, pick_service, run, settings
from jinguo_shared.cli.progress import progress_bars
from jinguo_shared.clock import ProgrammeClock
from jinguo_shared.runtime import open_runtime
from jinguo_shared.settings import Settings


def replay(
    service: str,
    projection: str | None = typer.Option(None),
    until: str | None = typer.Option(
        None,
        help="ISO 8601 date or time (without an offset: in JINGUO_TIME_ZONE, a date meaning its"
        " end of day): build an 'as of' copy instead of switching over",
    ),
) -> None:
    """rebuild projections from the log"""
    current = settings()
    run(_replay(current, service, projection, until_instant(current, until)))


def until_instant(settings: Settings, text: str | None) -> datetime | None:
    """`--until` as an instant: without an offset, in the programme's time zone."""
    if text is None:
        return None
    try:
        return ProgrammeClock(settings.time_zone).parse_instant(text)
    except ValueError as error:
        raise UsageError(f"--until: {error}") from None


async def _replay(
    settings: Settings, service: str, projection: str | None, until: datetime | None
) -> None:
    definition = pick_service(service)
    async with nats_url(settings) as url:
        runtime = await open_runtime(definition, settings, url, "tool")
        try:
            names = runtime.projections.names()
            if projection is not None and projection not in names:
                raise UsageError(
                    f"{service} has no projection {projection!r}; it has: {', '.join(names)}"
                )
            label = projection or "all projections"
            started = time.monotonic()
            with progress_bars("events") as report:
                rebuilt = await runtime.projections.rebuild(
                    *([projection] if projection else names),
                    until=until,
                    progress=lambda stream, done, total: report(f"{label} {stream}", done, total),
                )
            state = "kept aside as of " + until.isoformat() if until else "now active"
            if until is not None:
                state += f" (list them: jinguo projections as-of {service})"
            print(f"rebuilt in {time.monotonic() - started:.1f} s, {state}:")
            for done in rebuilt:
                tables = ", ".join(sorted(done.metadata.tables))
                print(f"  {done.name}: generation {done.generation} ({tables})")
        finally:
            await runtime.close()
