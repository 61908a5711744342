"""Staged projection writes, flushed as a few executemany statements per batch of events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import JSON, Table, and_, bindparam, delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from jinguo_shared.db import insert_for

Row = dict[str, Any]
_Group = tuple[str, tuple[str, ...], list[Row]]


class _TableWrites:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.key_columns = tuple(c.name for c in table.primary_key.columns)
        self.groups: list[_Group] = []
        self.last_write: dict[tuple[Any, ...], Row | None] = {}

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        try:
            return tuple(row[name] for name in self.key_columns)
        except KeyError as missing:
            raise KeyError(f"{self.table.name}: key column {missing} not given") from None

    def add(self, kind: str, row: Row) -> None:
        shape = tuple(sorted(row))
        if self.groups and self.groups[-1][0] == kind and self.groups[-1][1] == shape:
            self.groups[-1][2].append(row)
        else:
            self.groups.append((kind, shape, [row]))


class ProjectionBatch:
    """What one batch of events does to a projection's tables.

    Writes to one table keep their order; writes to different tables commute. An update of a
    row upserted earlier in the batch is merged into it, so a typical replay batch becomes one
    multi-row INSERT per table. Counter tables take only `increment`, which sums in memory.
    """

    def __init__(self, dialect: str) -> None:
        self._dialect = dialect
        self._tables: dict[str, _TableWrites] = {}
        self._counters: dict[str, tuple[Table, dict[tuple[Any, ...], Row]]] = {}

    def _writes(self, table: Table) -> _TableWrites:
        writes = self._tables.get(table.name)
        if writes is None:
            writes = self._tables[table.name] = _TableWrites(table)
        return writes

    def upsert(self, table: Table, row: Row) -> None:
        writes = self._writes(table)
        row = dict(row)
        writes.add("upsert", row)
        writes.last_write[writes.key_of(row)] = row

    def update(self, table: Table, key: Row, values: Row) -> None:
        writes = self._writes(table)
        row_key = writes.key_of(key)
        pending = writes.last_write.get(row_key)
        if pending is not None:
            pending.update(values)
            return
        writes.add(
            "update",
            {**{f"k_{k}": v for k, v in key.items()}, **{f"v_{k}": v for k, v in values.items()}},
        )
        writes.last_write[row_key] = None

    def delete(self, table: Table, key: Row) -> None:
        writes = self._writes(table)
        writes.add("delete", {f"k_{k}": v for k, v in key.items()})
        writes.last_write[writes.key_of(key)] = None

    def increment(self, table: Table, key: Row, deltas: Mapping[str, int]) -> None:
        _, rows = self._counters.setdefault(table.name, (table, {}))
        row_key = tuple(key.values())
        row = rows.get(row_key)
        if row is None:
            rows[row_key] = {**key, **deltas}
        else:
            for column, delta in deltas.items():
                row[column] = row.get(column, 0) + delta

    async def flush(self, connection: AsyncConnection) -> None:
        for writes in self._tables.values():
            for kind, shape, rows in writes.groups:
                await self._flush_group(connection, writes, kind, shape, rows)
        for table, counters in self._counters.values():
            await self._flush_counters(connection, table, list(counters.values()))
        self._tables.clear()
        self._counters.clear()

    async def _flush_group(
        self,
        connection: AsyncConnection,
        writes: _TableWrites,
        kind: str,
        shape: tuple[str, ...],
        rows: list[Row],
    ) -> None:
        table = writes.table
        if kind == "upsert":
            statement = insert_for(self._dialect, table)
            others = [name for name in shape if name not in writes.key_columns]
            if others:
                statement = statement.on_conflict_do_update(
                    index_elements=list(writes.key_columns),
                    set_={name: statement.excluded[name] for name in others},
                )
            else:
                statement = statement.on_conflict_do_nothing()
            await _execute_many(connection, table, statement, kind, shape, rows)
            return
        condition = and_(*(table.c[k] == bindparam(f"k_{k}") for k in writes.key_columns))
        if kind == "update":
            values: dict[str, Any] = {
                name[2:]: bindparam(name) for name in shape if name.startswith("v_")
            }
            await connection.execute(update(table).where(condition).values(values), rows)
        else:
            await connection.execute(delete(table).where(condition), rows)

    async def _flush_counters(
        self, connection: AsyncConnection, table: Table, rows: list[Row]
    ) -> None:
        keys = [c.name for c in table.primary_key.columns]
        by_shape: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            by_shape.setdefault(tuple(sorted(row)), []).append(row)
        for shape, group in by_shape.items():
            statement = insert_for(self._dialect, table)
            statement = statement.on_conflict_do_update(
                index_elements=keys,
                set_={
                    name: table.c[name] + statement.excluded[name]
                    for name in shape
                    if name not in keys
                },
            )
            await _execute_many(connection, table, statement, "increment", shape, group)


_compiled: dict[tuple[str, str, str, tuple[str, ...]], tuple[str, list[str]]] = {}


async def _execute_many(
    connection: AsyncConnection,
    table: Table,
    statement: Any,
    kind: str,
    shape: tuple[str, ...],
    rows: list[Row],
) -> None:
    """Compile once per shape, then hand plain tuples to the driver's executemany.

    SQLAlchemy's per-row parameter processing costs more than the database's work here
    (rebuilds write millions of rows), so JSON columns are serialised here instead.
    """
    dialect = connection.dialect
    key = (dialect.name, table.name, kind, shape)
    cached = _compiled.get(key)
    if cached is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(shape))
        order = list(compiled.positiontup or [])
        cached = _compiled[key] = (str(compiled), order)
    sql, order = cached
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    encode = [(name, name in json_columns) for name in order]
    parameters = [
        tuple(
            orjson.dumps(row[name]).decode() if is_json and row[name] is not None else row[name]
            for name, is_json in encode
        )
        for row in rows
    ]
    await connection.exec_driver_sql(sql, parameters)
