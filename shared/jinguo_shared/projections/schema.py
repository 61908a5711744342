"""A projection generation's tables: what an older version left out, and creating them."""

from __future__ import annotations

from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable


def missing_columns(connection: Connection, metadata: MetaData) -> list[str]:
    """Tables and columns this version defines that the database lacks."""
    inspector = inspect(connection)
    missing = []
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            missing.append(table.name)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
    return missing


def create_tables(connection: Connection, metadata: MetaData) -> None:
    """A new generation's tables with their keys and unique indexes, which upserts need; the
    other indexes come once the rows are in (`create_lookup_indexes`): one sort each rather
    than an index update per row."""
    for table in metadata.sorted_tables:
        connection.execute(CreateTable(table))
        for index in table.indexes:
            if index.unique:
                index.create(connection)


def create_lookup_indexes(connection: Connection, metadata: MetaData) -> None:
    for table in metadata.sorted_tables:
        for index in table.indexes:
            if not index.unique:
                index.create(connection)
