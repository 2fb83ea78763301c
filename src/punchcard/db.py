"""Set-based writes for batch jobs that touch thousands of rows in one transaction (the expiry sweep).

The ORM builds a model instance per row and, on PostgreSQL, spells every value into the SQL text;
for a batch that costs more than the work itself. These write many rows in one statement with the
parameters bound by the server (lists go as binary arrays). Bottom layer: Django and psycopg only,
no app's models; callers pass the model whose table they write. Run inside the caller's transaction.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import psycopg
from django.db import IntegrityError, connection, transaction

from punchcard.domain.errors import Conflict


def insert_rows(model, rows: list[dict], *, returning: tuple[str, ...] = ()) -> list[tuple]:
    """Insert many rows (dicts keyed by attname) in one statement; with `returning`, their values of those columns.

    On PostgreSQL: INSERT … SELECT FROM unnest(one array per column that varies), parameters bound by the
    server, so no model instance is built and no SQL literal is written per row. Elsewhere: bulk_create.
    A column the rows leave out gets its field's default.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        made = model.objects.bulk_create([model(**row) for row in rows], batch_size=500)
        return [tuple(getattr(obj, name) for name in returning) for obj in made]
    columns, selected, arrays, scalars = [], [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in rows[0]:
            values = [row[field.attname] for row in rows]
        elif field.has_default():
            values = [field.get_default()]
        elif field.null:
            continue
        else:
            raise ValueError(f"{model._meta.label}.{field.name} needs a value")
        if field.get_internal_type() == "JSONField":
            values = [json.dumps(value) for value in values]
        db_type = field.db_type(connection)
        columns.append(connection.ops.quote_name(field.column))
        first = values[0]
        if all(value == first for value in values):  # the same for every row: one parameter, not an array
            selected.append(f"%s::{db_type}" if first is not None else "NULL")
            if first is not None:
                scalars.append((len(selected) - 1, first))
        else:
            selected.append(f"c{len(arrays)}")
            arrays.append((db_type, values))
    # Parameters in the order their placeholders appear: the select list's scalars, then the arrays.
    params = [value for _, value in scalars]
    if arrays:
        source = "unnest({}) AS t({})".format(
            ", ".join(f"%s::{db_type}[]" for db_type, _ in arrays), ", ".join(f"c{i}" for i in range(len(arrays)))
        )
        params += [values for _, values in arrays]
    else:  # every row alike
        source = "generate_series(1, %s)"
        params.append(len(rows))
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM {source}"
    )
    if returning:
        sql += " RETURNING " + ", ".join(
            connection.ops.quote_name(model._meta.get_field(name).column) for name in returning
        )
    return execute_bound(sql, params, fetch=bool(returning))


def execute_bound(sql: str, params: list, *, fetch: bool = False) -> list[tuple]:
    """Run one statement on PostgreSQL with server-side parameters (lists go as binary arrays, which
    is much cheaper than spelling thousands of values into the SQL text), in the current transaction."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if fetch else []


def is_unique_violation(exc: IntegrityError) -> bool:
    """True when the database refused a row for a unique constraint (not a CHECK or a foreign key)."""
    cause = exc.__cause__
    if isinstance(cause, psycopg.errors.UniqueViolation):
        return True
    return "UNIQUE constraint failed" in str(exc)


@contextmanager
def unique(message: str, *, field: str):
    """Run the insert in a savepoint; a unique-constraint refusal becomes Conflict `duplicate_code`.

    The service checks first, for a clear message; this catches the race the check cannot see."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise Conflict(message, code="duplicate_code", field=field) from None


# ---------------------------------------------------------------- one statement for a transaction's writes


class Raw(str):
    """An SQL expression used as a value as it is (e.g. `je.id`, a column of an earlier part)."""


class Batch:
    """The writes of one transaction gathered into ONE data-modifying statement (PostgreSQL):
    `WITH part AS (INSERT … RETURNING …), … SELECT (each part's rows as JSON)`.

    A part may select from an earlier one by name (`INSERT … SELECT … FROM line`), so a write that must
    not happen unless another did (the redemption unless the guarded line update) chains on it. Listeners
    that run in the transaction (the outbox) add their rows to the open batch (`open_batch()`) instead of
    writing them at once; `then` callbacks see every part's rows once the statement has run.
    """

    def __init__(self):
        self.parts: list[tuple[str, str, list]] = []
        self.callbacks: list = []
        self.results: dict[str, list[dict]] | None = None

    def add(self, name: str, sql: str, params: list, *, then=None) -> None:
        if self.results is not None:
            raise RuntimeError("the batch has run; nothing more can join it")
        if any(existing == name for existing, _, _ in self.parts):
            raise ValueError(f"a part named {name} is in the batch already")
        self.parts.append((name, sql, params))
        if then is not None:
            self.callbacks.append(then)

    def unique(self, prefix: str) -> str:
        taken = {name for name, _, _ in self.parts}
        return next(f"{prefix}{i}" for i in range(len(self.parts) + 1) if f"{prefix}{i}" not in taken)

    def run(self) -> dict[str, list[dict]]:
        """Send the statement; every part's rows (its RETURNING, as dicts), then the callbacks."""
        if self.results is not None:
            return self.results
        ctes = ", ".join(f"{name} AS ({sql})" for name, sql, _ in self.parts)
        selected = ", ".join(f"(SELECT json_agg({name}) FROM {name})" for name, _, _ in self.parts)
        params = [value for _, _, values in self.parts for value in values]
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {ctes} SELECT {selected}", params)
            row = cursor.fetchone()
        self.results = {name: rows or [] for (name, _, _), rows in zip(self.parts, row, strict=True)}
        for callback in self.callbacks:
            callback(self.results)
        return self.results


_batches = threading.local()


def open_batch() -> Batch | None:
    """The batch the current transaction's writes are gathered in, if its service opened one."""
    stack = getattr(_batches, "stack", None)
    return stack[-1] if stack else None


@contextmanager
def batched():
    """Open a batch for the code inside (a service's write); it runs at the end unless the caller ran it."""
    batch = Batch()
    stack = _batches.__dict__.setdefault("stack", [])
    stack.append(batch)
    try:
        yield batch
        if batch.parts:
            batch.run()
    finally:
        stack.pop()


def placeholder(field, value) -> tuple[str, list]:
    """`%s::type` for a model field's value (server-side binding needs the type), or a Raw expression."""
    if isinstance(value, Raw):
        return str(value), []
    if value is None:
        return "NULL", []
    db_type = field.db_type(connection) if not field.is_relation else field.target_field.rel_db_type(connection)
    if field.get_internal_type() == "JSONField":
        return "%s::jsonb", [json.dumps(value)]
    if isinstance(value, str):
        value = str(value)  # a choices enum: its value, as the ORM writes it
    return f"%s::{db_type}", [field.get_db_prep_save(value, connection)]


def insert_sql(model, rows: list[dict], *, source: str | None = None, returning: str = "id") -> tuple[str, list]:
    """`INSERT INTO table (cols) SELECT … [FROM source] UNION ALL …  RETURNING …` for rows keyed by attname
    (every row the same keys); values may be Raw expressions over `source`, an earlier part."""
    fields = [model._meta.get_field(name) for name in rows[0]]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    selects, params = [], []
    for row in rows:
        values = []
        for field in fields:
            sql, args = placeholder(field, row[field.attname])
            values.append(sql)
            params += args
        selects.append("SELECT " + ", ".join(values) + (f" FROM {source}" if source else ""))
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) {' UNION ALL '.join(selects)} RETURNING {returning}", params


def instance(model, data: dict):
    """A model instance from a row read as JSON (row_to_json): column names → attnames, JSON → Python."""
    values = {}
    for field in model._meta.concrete_fields:
        value = data.get(field.column)
        if value is not None and field.get_internal_type() != "JSONField":
            value = field.to_python(value)
        values[field.attname] = value
    obj = model(**values)
    obj._state.adding, obj._state.db = False, "default"
    return obj
