"""Reads: the events feed (a cursor, newest last) and an endpoint's attempt log."""

from __future__ import annotations

from punchcard.domain.errors import NotFound
from punchcard.kernel.pagination import decode_cursor, encode_cursor

from .models import Attempt, OutboxEvent


def events_after(tenant, *, type: str | None, after: str | None, limit: int) -> tuple[list[OutboxEvent], str | None]:
    """Events in the order they were written, after `after` (an event id or a cursor this returned)."""
    rows = OutboxEvent.objects.filter(tenant=tenant)
    if type:
        rows = rows.filter(type=type)
    if after:
        if after.startswith("evt_"):
            seen = OutboxEvent.objects.filter(tenant=tenant, event_id=after).values_list("id", flat=True).first()
            if seen is None:
                raise NotFound(f"no event {after}", field="after")
        else:
            seen = decode_cursor(after)
        rows = rows.filter(id__gt=seen)
    page = list(rows.order_by("id")[:limit])
    # The cursor points at the last event returned (or stays where it was): poll with it to catch up.
    return page, encode_cursor(page[-1].id) if page else after


def attempts_of(endpoint):
    return Attempt.objects.filter(delivery__endpoint=endpoint).select_related("delivery__event")
