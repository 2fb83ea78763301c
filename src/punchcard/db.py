"""Set-based writes for batch jobs that touch thousands of rows in one transaction (the expiry sweep).

The ORM builds a model instance per row and, on PostgreSQL, spells every value into the SQL text;
for a batch that costs more than the work itself. These write many rows in one statement with the
parameters bound by the server (lists go as binary arrays). Bottom layer: Django and psycopg only,
no app's models; callers pass the model whose table they write. Run inside the caller's transaction.
"""

from __future__ import annotations

import json
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
