"""`jinguo-registry`: what an operator does to the registry outside the HTTP API.

    jinguo-registry issue-key --agency "某区妇联" --kind womens_federation --area 110101 \
        [--client operators] [--scope registry:admin --scope registry:read ...]

    jinguo-registry areas FILE        # the register of areas from CSV or JSON (see below)

The first API key of a deployment cannot come over HTTP (every request needs one). Run it with
the registry's own settings (e.g. `kubectl exec deploy/registry-api -- jinguo-registry ...`):
it registers the agency once per name and area, issues a client of it and prints its key, once.
Without --scope the key is the platform operator's: every scope and platform:admin, which
registers agencies and administers any agency's clients, and which no API request can grant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import uvloop
from pydantic import BaseModel, ValidationError

from jinguo_contracts.access import OPERATOR_SCOPE, SCOPES
from jinguo_registry.bootstrap import issue_agency_key, load_areas, service
from jinguo_registry.entrypoints.areas_file import AreasFileError, read_areas
from jinguo_registry.handlers.commands import IssueApiClient, RegisterAgency
from jinguo_shared.cli.environment import nats_url
from jinguo_shared.domain import DomainError
from jinguo_shared.runtime import open_runtime
from jinguo_shared.settings import Settings

GRANTABLE = SCOPES | {OPERATOR_SCOPE}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="jinguo-registry", description=__doc__.split("\n\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue-key", help="an agency's API client, its key printed once")
    issue.add_argument("--agency", required=True, help="the agency's name")
    issue.add_argument("--kind", required=True, help="e.g. womens_federation, labour_office")
    issue.add_argument("--area", required=True, help="the agency's area code, e.g. 110101")
    issue.add_argument("--client", default="operators", help="the API client's name")
    issue.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        help=f"repeatable; default: every scope ({', '.join(sorted(GRANTABLE))})",
    )
    areas = commands.add_parser(
        "areas", help="load the register of areas (GB/T 2260 and statistical codes) from a file"
    )
    areas.add_argument("file", type=Path, help="CSV (code,name,urban,year,households,…) or JSON")
    return top


ModelT = TypeVar("ModelT", bound=BaseModel)
AGENCY_OPTIONS = {"name": "--agency", "kind": "--kind", "area_code": "--area"}
CLIENT_OPTIONS = {"name": "--client", "scopes": "--scope"}


class UsageError(Exception):
    pass


def _validated(model: type[ModelT], options: dict[str, str], **values: object) -> ModelT:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = [
            f"{options.get(str(problem['loc'][0]), problem['loc'][0])}: {problem['msg']}"
            for problem in error.errors()
        ]
        raise UsageError("; ".join(problems)) from None


async def issue_key(settings: Settings, args: argparse.Namespace) -> None:
    agency = _validated(
        RegisterAgency, AGENCY_OPTIONS, name=args.agency, kind=args.kind, area_code=args.area
    )
    client = _validated(
        IssueApiClient, CLIENT_OPTIONS, name=args.client, scopes=args.scopes or sorted(GRANTABLE)
    )
    unknown = sorted(set(client.scopes) - GRANTABLE)
    if unknown:  # checked before the agency is registered: bad input leaves nothing behind
        raise UsageError(
            f"--scope: unknown {', '.join(unknown)}; known: {', '.join(sorted(GRANTABLE))}"
        )
    async with nats_url(settings) as url:
        runtime = await open_runtime(service, settings, url, "tool")
        try:
            issued = await issue_agency_key(runtime, agency, client)
        finally:
            await runtime.close()
    print(f"agency   {issued.agency_id}")
    print(f"client   {issued.client_id}  scopes: {' '.join(client.scopes)}")
    print(f"API key  {issued.api_key}")
    print("The key is shown only this once; the services accept it once they have seen the event.")


async def areas(settings: Settings, args: argparse.Namespace) -> None:
    lines = read_areas(args.file)  # every row checked before anything is recorded
    async with nats_url(settings) as url:
        runtime = await open_runtime(service, settings, url, "tool")
        try:
            loaded = await load_areas(runtime, lines)
        finally:
            await runtime.close()
    print(
        f"{len(lines)} areas read: {loaded.registered} registered, {loaded.renamed} renamed,"
        f" {loaded.populations} population figures recorded (position {loaded.position})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = issue_key if args.command == "issue-key" else areas
    try:
        uvloop.run(command(Settings(), args))
    except (UsageError, DomainError, AreasFileError) as error:
        print(f"jinguo-registry: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
