"""Gap-free per-tenant sequences: order numbers and receipt numbers (SPEC §8.7).

A number is taken by bumping its counter row, which stays locked until commit: takers of one sequence
queue there, and a rolled-back transaction gives its number back (no gaps, no duplicates). The counter
is the one tenant-wide lock (DESIGN rule 10), so it is taken as the transaction's last write:

- `next_number` bumps the counter in one statement (an upsert, `… RETURNING value`) and answers the
  number; callers take it after their other writes (a receipt, an invoice).
- A new order is written without a number; whatever names its number meanwhile (a journal memo, a grant
  entry's data, an audit record) says `order_number(order)` and registers itself with `mention_*`.
  `number_last(order)` then takes the number and writes it into the order and every mention, right before
  the sale commits. On PostgreSQL the counter and the order's number are one statement; the mentions
  follow as one UPDATE per kind (the counter is held for those few statements, not for the sale).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet, Value
from django.db.models.functions import Replace

from punchcard.ledger.models import JournalEntry
from punchcard.tenancy.models import Tenant

from ..models import Counter, Order

PENDING = "(number pending)"  # in a text that names an order before it is numbered; never committed


def next_number(tenant: Tenant, name: str) -> int:
    """The next number of the tenant's sequence `name`; the counter stays locked until commit."""
    return _bump(tenant.pk, name)


def give_back(tenant: Tenant, name: str, number: int) -> None:
    """Return `number`, just taken with next_number and unused: its lock is still held, so it is the last."""
    Counter.objects.filter(tenant=tenant, name=name).update(value=number - 1)


def _upsert_sql() -> str:
    # Creates the counter at 1 or adds one; the row lock it takes (no key changes) lasts until commit.
    table = connection.ops.quote_name(Counter._meta.db_table)
    return (
        f"INSERT INTO {table} (tenant_id, name, value) VALUES (%s, %s, 1) "
        f"ON CONFLICT (tenant_id, name) DO UPDATE SET value = {table}.value + 1 RETURNING value"
    )


def _bump(tenant_id: int, name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [tenant_id, name])
        return cursor.fetchone()[0]


# ---------------------------------------------------------------- an order numbered last


@dataclass
class _Mentions:
    memos: list[int] = field(default_factory=list)  # journal entries whose memo says PENDING
    data: list[tuple[QuerySet, dict]] = field(default_factory=list)  # rows whose data is {..., "order": None}


def _mentions(order: Order) -> _Mentions:
    return order.__dict__.setdefault("_number_mentions", _Mentions())


def order_number(order: Order) -> str:
    """The order's number as text, or PENDING while it has none (`mention_memo` the entry written)."""
    return str(order.number) if order.number is not None else PENDING


def mention_memo(order: Order, entry: JournalEntry | None) -> None:
    """The entry's memo names the order (through `order_number`): finish it when the order is numbered."""
    if order.number is None and entry is not None:
        _mentions(order).memos.append(entry.pk)


def mention_data(order: Order, rows: QuerySet, data: dict) -> None:
    """`rows` were written with `data`, whose "order" is the order's number (None until numbered)."""
    if order.number is None:
        _mentions(order).data.append((rows, data))


def number_last(order: Order) -> int:
    """Give a new order its number, and the texts that name it, as the transaction's last writes."""
    if order.number is not None:
        return order.number
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Order._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH n AS ({_upsert_sql()}) UPDATE {table} SET number = n.value FROM n "
                f"WHERE {table}.id = %s RETURNING n.value",
                [order.tenant_id, "order", order.pk],
            )
            number = cursor.fetchone()[0]
    else:  # SQLite: writers already run one at a time
        number = _bump(order.tenant_id, "order")
        Order.objects.filter(pk=order.pk).update(number=number)
    order.number = number
    mentions = order.__dict__.pop("_number_mentions", None)
    if mentions is not None:
        if mentions.memos:
            JournalEntry.objects.filter(pk__in=mentions.memos).update(
                memo=Replace("memo", Value(PENDING), Value(str(number)))
            )
        for rows, data in mentions.data:
            rows.update(data={**data, "order": number})
    return number
