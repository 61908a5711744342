"""`jinguo contracts`: the event catalogue as JSON Schemas, one file per event version."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jinguo_contracts.base import CATALOGUE
from jinguo_shared.cli.environment import unusable_file


def export_contracts(directory: Path = typer.Argument(...)) -> None:
    """export the event JSON Schemas"""
    schemas = CATALOGUE.json_schemas()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for schema_id, schema in schemas.items():
            name = schema_id.removeprefix("urn:jinguo:").replace(":", ".") + ".json"
            (directory / name).write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    except OSError as error:
        raise unusable_file(error) from None
    print(f"wrote {len(schemas)} JSON Schemas to {directory}")
