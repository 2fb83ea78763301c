"""Cursor pagination: `?cursor=&limit=` in, `{items, next_cursor}` out.

The cursor is opaque to clients ("p1-" and the last id seen in base 36, which the OpenAPI document
states as a pattern, so any token matching it is one this API could have issued); keyset paging on
the primary key stays fast and stable while rows are added. Lists are newest first unless a view
says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from punchcard.domain.errors import InvalidInput

from .schemas import CURSOR_PATTERN

_PREFIX = "p1-"
_CURSOR = re.compile(CURSOR_PATTERN)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# When rows are filtered in Python (a derived status), at most this many are examined per page;
# a page may then hold fewer than `limit` items while next_cursor is still set.
SCAN_LIMIT = 1000


def encode_cursor(last_id: int) -> str:
    digits = ""
    while last_id:
        last_id, digit = divmod(last_id, 36)
        digits = _DIGITS[digit] + digits
    return _PREFIX + digits


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not _CURSOR.match(cursor):
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return int(cursor[len(_PREFIX) :], 36)  # at most 12 base-36 digits: always below 2**63


@dataclass
class PageOf:
    items: list[Any]
    next_cursor: str | None


def paginate(
    queryset: QuerySet,
    *,
    cursor: str | None,
    limit: int,
    newest_first: bool = True,
    keep: Callable[[Any], bool] | None = None,
    prepare: Callable[[list[Any]], Iterable[Any]] | None = None,
) -> PageOf:
    """One page of `queryset` after the cursor.

    `prepare` turns a chunk of rows into items (e.g. attach balances); `keep` drops items that a
    filter the database cannot evaluate (a derived status) refuses.
    """
    after = decode_cursor(cursor)
    ordered = queryset.order_by("-id" if newest_first else "id")
    if after is not None:
        ordered = ordered.filter(id__lt=after) if newest_first else ordered.filter(id__gt=after)
    if keep is None:
        rows = list(ordered[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        items = list(prepare(rows)) if prepare else rows
        return PageOf(items, encode_cursor(rows[-1].id) if more and rows else None)
    items, scanned, last_id = [], 0, after
    while len(items) < limit and scanned < SCAN_LIMIT:
        chunk_query = ordered
        if last_id is not None:
            chunk_query = ordered.filter(id__lt=last_id) if newest_first else ordered.filter(id__gt=last_id)
        rows = list(chunk_query[: min(limit, SCAN_LIMIT - scanned)])
        if not rows:
            return PageOf(items, None)
        scanned += len(rows)
        for row, item in zip(rows, prepare(rows) if prepare else rows, strict=True):
            last_id = row.id
            if keep(item):
                items.append(item)
                if len(items) == limit:
                    break
    # Either the page is full or the scan budget is spent; another page may follow.
    rest = ordered.filter(id__lt=last_id) if newest_first else ordered.filter(id__gt=last_id)
    return PageOf(items, encode_cursor(last_id) if rest.exists() else None)
