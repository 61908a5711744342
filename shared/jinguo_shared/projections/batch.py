"""Staged projection writes, flushed as a few executemany statements per batch of events."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Date, DateTime, Table, and_, bindparam, delete, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from jinguo_shared.db import insert_for

Row = dict[str, Any]
Key = tuple[Any, ...]
Statement = tuple[str, list[Sequence[Any]]]
"""SQL for the driver and the rows of parameters to execute it with."""

UPSERT, UPDATE, DELETE = "upsert", "update", "delete"
_FLUSH_ORDER = (DELETE, UPDATE, UPSERT)
"""Within a round, rows freed by a delete or an update can be taken by an upsert."""


class _Write:
    __slots__ = ("kind", "values")

    def __init__(self, kind: str, values: Row) -> None:
        self.kind = kind
        self.values = values


class _TableWrites:
    """The writes to each row of one table, merged where the result is the same."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.key_columns = tuple(c.name for c in table.primary_key.columns)
        self.json_columns = frozenset(c.name for c in table.columns if isinstance(c.type, JSON))
        self.date_columns = frozenset(
            c.name for c in table.columns if isinstance(c.type, Date | DateTime)
        )
        self.rows: dict[Key, list[_Write]] = {}
        self.deletions: dict[str, list[Any]] = {}
        """Column -> values: every row holding one goes, before the rows written here."""
        getter = itemgetter(*self.key_columns)
        self._key_of: Callable[[Mapping[str, Any]], Key] = (
            getter if len(self.key_columns) > 1 else lambda row: (getter(row),)
        )

    def key_of(self, row: Mapping[str, Any]) -> Key:
        try:
            return self._key_of(row)
        except KeyError as missing:
            raise KeyError(f"{self.table.name}: key column {missing} not given") from None

    def upsert(self, row: Row) -> None:
        writes = self.rows.setdefault(self.key_of(row), [])
        if writes and writes[-1].kind == UPSERT:
            writes[-1].values.update(row)
        else:
            writes.append(_Write(UPSERT, dict(row)))

    def update(self, key: Row, values: Row) -> None:
        row_key = self.key_of(key)
        writes = self.rows.setdefault(row_key, [])
        last = writes[-1] if writes else None
        if last is None:
            writes.append(_Write(UPDATE, {**key, **values}))
        elif last.kind != DELETE:  # after a delete there is no row to update
            last.values.update(values)

    def delete(self, key: Row) -> None:
        self.rows[self.key_of(key)] = [_Write(DELETE, dict(key))]

    def delete_all(self, column: str, value: Any) -> None:
        self.rows = {
            key: writes
            for key, writes in self.rows.items()
            if not any(column in w.values and w.values[column] == value for w in writes)
        }
        self.deletions.setdefault(column, []).append(value)

    def rounds(self) -> list[dict[tuple[str, tuple[str, ...]], list[Row]]]:
        """Writes grouped by kind and columns: the n-th write of every row in round n.

        Columns in the order the handler gave them, not sorted: a handler gives its columns in
        one order, and sorting them cost more per row than the grouping itself."""
        rounds: list[dict[tuple[str, tuple[str, ...]], list[Row]]] = []
        for writes in self.rows.values():
            for index, write in enumerate(writes):
                if index == len(rounds):
                    rounds.append({})
                shape = tuple(write.values)
                rounds[index].setdefault((write.kind, shape), []).append(write.values)
        return rounds


class ProjectionBatch:
    """What one batch of events does to a projection's tables.

    Writes to one row keep their order; writes to different rows commute. Successive writes to a
    row merge (an update of a row upserted in the batch becomes part of the upsert), so a replay
    batch becomes a few multi-row statements per table. Counter tables take only `increment`,
    which sums in memory.
    """

    def __init__(self) -> None:
        self._tables: dict[str, _TableWrites] = {}
        self._counters: dict[str, tuple[Table, dict[Key, Row]]] = {}

    def _writes(self, table: Table) -> _TableWrites:
        writes = self._tables.get(table.name)
        if writes is None:
            writes = self._tables[table.name] = _TableWrites(table)
        return writes

    def upsert(self, table: Table, row: Row) -> None:
        self._writes(table).upsert(row)

    def update(self, table: Table, key: Row, values: Row) -> None:
        """Change columns of an existing row; nothing happens if there is no such row."""
        if values:
            self._writes(table).update(key, values)

    def delete(self, table: Table, key: Row) -> None:
        self._writes(table).delete(key)

    def delete_all(self, table: Table, column: str, value: Any) -> None:
        """Delete every row whose `column` holds `value` (not only by its key: a person's
        visits, say), those written earlier in this batch included."""
        self._writes(table).delete_all(column, value)

    def increment(self, table: Table, key: Row, deltas: Mapping[str, int]) -> None:
        counters = self._counters.get(table.name)
        if counters is None:
            counters = self._counters[table.name] = (table, {})
        rows = counters[1]
        row_key = tuple(key.values())
        row = rows.get(row_key)
        if row is None:
            rows[row_key] = {**key, **deltas}
        else:
            for column, delta in deltas.items():
                row[column] = row.get(column, 0) + delta

    def __len__(self) -> int:
        return sum(
            len(w.rows) + sum(map(len, w.deletions.values())) for w in self._tables.values()
        ) + sum(len(rows) for _, rows in self._counters.values())

    async def flush(self, connection: AsyncConnection) -> None:
        for sql, parameters in self.statements(connection.dialect):
            await connection.exec_driver_sql(sql, parameters)

    def statements(self, dialect: Dialect) -> list[Statement]:
        """The batch as the driver's statements, in order, each with its rows of parameters;
        the batch is empty afterwards."""
        statements: list[Statement] = []
        for writes in self._tables.values():
            for column, values in writes.deletions.items():
                statements.append(self._delete_all(dialect, writes, column, values))
            for groups in writes.rounds():
                for kind in _FLUSH_ORDER:
                    for (group_kind, shape), rows in groups.items():
                        if group_kind == kind:
                            statements.append(self._group(dialect, writes, kind, shape, rows))
        for table, counters in self._counters.values():
            statements.extend(self._counter_groups(dialect, table, list(counters.values())))
        self._tables.clear()
        self._counters.clear()
        return statements

    def _group(
        self,
        dialect: Dialect,
        writes: _TableWrites,
        kind: str,
        shape: tuple[str, ...],
        rows: list[Row],
    ) -> Statement:
        table = writes.table
        keys = writes.key_columns

        def statement() -> Any:
            if kind == UPSERT:
                insert = insert_for(dialect.name, table)
                others = [name for name in shape if name not in keys]
                if not others:
                    return insert.on_conflict_do_nothing()
                return insert.on_conflict_do_update(
                    index_elements=list(keys),
                    set_={name: insert.excluded[name] for name in others},
                )
            condition = and_(*(table.c[k] == bindparam(k) for k in keys))
            if kind == UPDATE:
                values = {
                    name: bindparam(f"v_{name}", type_=table.c[name].type)
                    for name in shape
                    if name not in keys
                }
                return update(table).where(condition).values(values)
            return delete(table).where(condition)

        return _driver_statement(dialect, writes, statement, kind, shape, rows)

    def _delete_all(
        self, dialect: Dialect, writes: _TableWrites, column: str, values: list[Any]
    ) -> Statement:
        table = writes.table
        return _driver_statement(
            dialect,
            writes,
            lambda: delete(table).where(table.c[column] == bindparam(column)),
            "delete_all",
            (column,),
            [{column: value} for value in values],
        )

    def _counter_groups(self, dialect: Dialect, table: Table, rows: list[Row]) -> list[Statement]:
        writes = _TableWrites(table)
        by_shape: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            by_shape.setdefault(tuple(sorted(row)), []).append(row)
        statements = []
        for shape, group in by_shape.items():

            def statement(shape: tuple[str, ...] = shape) -> Any:
                insert = insert_for(dialect.name, table)
                return insert.on_conflict_do_update(
                    index_elements=list(writes.key_columns),
                    set_={
                        name: table.c[name] + insert.excluded[name]
                        for name in shape
                        if name not in writes.key_columns
                    },
                )

            statements.append(
                _driver_statement(dialect, writes, statement, "increment", shape, group)
            )
        return statements


_compiled: dict[tuple[str, str, str, tuple[str, ...]], tuple[str, list[str]]] = {}


def _driver_statement(
    dialect: Dialect,
    writes: _TableWrites,
    statement: Callable[[], Any],
    kind: str,
    shape: tuple[str, ...],
    rows: list[Row],
) -> Statement:
    """Build and compile once per shape, then give plain tuples for the driver's executemany.

    SQLAlchemy's per-row parameter processing costs more than the database's work here
    (rebuilds write millions of rows), so JSON columns are serialised here instead.
    """
    key = (dialect.name, writes.table.name, kind, shape)
    cached = _compiled.get(key)
    if cached is None:
        compiled = statement().compile(
            dialect=dialect, column_keys=list(shape) if kind in (UPSERT, "increment") else None
        )
        columns = {f"v_{name}": name for name in shape} if kind == UPDATE else {}
        order = [columns.get(name, name) for name in compiled.positiontup or []]
        cached = _compiled[key] = (str(compiled), order)
    sql, order = cached
    missing = [name for name in order if name not in shape]
    if missing:  # columns with a default that SQLAlchemy adds to every INSERT
        defaults = {name: _scalar_default(writes.table, name) for name in missing}
        rows = [{**defaults, **row} for row in rows]
    for name in writes.json_columns.intersection(order):
        for row in rows:  # the rows are the batch's own: encode in place
            value = row[name]
            if value is not None:
                row[name] = orjson.dumps(value).decode()
    if dialect.name == "sqlite":
        # the text sqlite3's default adapters would make, made here: strings travel from a
        # rebuild's planning process at a third of the cost of date objects
        for name in writes.date_columns.intersection(order):
            for row in rows:
                value = row[name]
                if isinstance(value, datetime):
                    row[name] = value.isoformat(" ")
                elif isinstance(value, date):
                    row[name] = value.isoformat()
    if len(order) == 1:
        return sql, [(row[order[0]],) for row in rows]
    values_of = itemgetter(*order)
    return sql, [values_of(row) for row in rows]


def _scalar_default(table: Table, name: str) -> Any:
    default = table.c[name].default
    if default is None or not default.is_scalar:
        raise ValueError(f"{table.name}.{name}: give a value (no scalar default)")
    return default.arg  # type: ignore[attr-defined]
