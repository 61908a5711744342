"""The published contracts as files: each service's OpenAPI, the AsyncAPI of every event and
each event version's JSON Schema, generated from the code alone (no deployment, no settings)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import create_async_engine

from jinguo_contracts.base import CATALOGUE
from jinguo_shared.asyncapi import asyncapi_document
from jinguo_shared.runtime import ServiceRuntime, assemble_runtime
from jinguo_shared.services import ServiceDefinition, discover_services
from jinguo_shared.settings import Settings

Documents = dict[str, dict[str, Any]]
"""Published documents by their path under the published directory."""

OWNED_FOLDERS = ("openapi", "schemas")
"""Folders of the published directory whose every file is generated: others are removed."""

ASYNCAPI_FILE = "asyncapi.json"


def schema_file(schema_id: str) -> str:
    return "schemas/" + schema_id.removeprefix("urn:jinguo:").replace(":", ".") + ".json"


async def published_documents(services: Sequence[ServiceDefinition] | None = None) -> Documents:
    """Every document, for the installed services (whose import fills the catalogue)."""
    definitions = discover_services() if services is None else services
    documents: Documents = {}
    for definition in definitions:
        documents[f"openapi/{definition.name}.json"] = await openapi_document(definition)
    documents[ASYNCAPI_FILE] = asyncapi_document(CATALOGUE, {d.name: d.feed for d in definitions})
    for schema_id, schema in CATALOGUE.json_schemas().items():
        documents[schema_file(schema_id)] = schema
    return documents


async def openapi_document(definition: ServiceDefinition) -> dict[str, Any]:
    """The service's app over adapters that are never connected: its routes need a runtime to
    be built, not to be described."""
    runtime = unconnected_runtime(definition)
    try:
        return definition.create_app(runtime).openapi()
    finally:
        await runtime.engine.dispose()


def unconnected_runtime(definition: ServiceDefinition) -> ServiceRuntime:
    return assemble_runtime(
        definition,
        Settings.model_construct(),  # the defaults: this machine's JINGUO_* do not count
        create_async_engine("sqlite+aiosqlite://"),
        NatsClient(),
        secrets.token_bytes(32),
        secrets.token_bytes(32),
    )


def as_text(document: dict[str, Any]) -> str:
    """Sorted keys, so a regenerated file differs only where the contract does."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_documents(directory: Path, documents: Documents) -> None:
    """Write every document; a file left in an owned folder (a removed event, a removed
    service) is deleted, so the directory is exactly what the code publishes."""
    for folder in OWNED_FOLDERS:
        for stale in (directory / folder).glob("*.json"):
            if f"{folder}/{stale.name}" not in documents:
                stale.unlink()
    for name, document in documents.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(as_text(document))


def read_documents(directory: Path) -> Documents:
    """The documents committed in `directory`, by the same paths."""
    names = [ASYNCAPI_FILE] if (directory / ASYNCAPI_FILE).exists() else []
    for folder in OWNED_FOLDERS:
        names += sorted(f"{folder}/{p.name}" for p in (directory / folder).glob("*.json"))
    return {name: json.loads((directory / name).read_text()) for name in names}
