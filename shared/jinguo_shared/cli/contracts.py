"""`jinguo contracts`: the published contracts (OpenAPI, AsyncAPI, event JSON Schemas) written
into a directory, by default the committed one, `contracts/published`."""

from __future__ import annotations

from pathlib import Path

import typer

from jinguo_shared.cli.environment import run, unusable_file
from jinguo_shared.published import published_documents, write_documents

PUBLISHED = Path("contracts/published")


def export_contracts(
    directory: Path = typer.Argument(PUBLISHED, help="where to write them"),
) -> None:
    """write every service's OpenAPI, the AsyncAPI and the event JSON Schemas"""
    documents = run(published_documents())
    try:
        write_documents(directory, documents)
    except OSError as error:
        raise unusable_file(error) from None
    print(f"wrote {len(documents)} published contracts to {directory}")
