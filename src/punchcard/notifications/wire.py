"""An event as the events API lists it and a webhook carries it (the versioned JSON integrators read)."""

from __future__ import annotations

import json

from .models import OutboxEvent


def as_json(row: OutboxEvent) -> dict:
    return {
        "id": row.event_id,
        "type": row.type,
        "timestamp": row.occurred_at.isoformat().replace("+00:00", "Z"),
        "version": row.version,
        "data": row.payload,
    }


def body(row: OutboxEvent) -> str:
    """The exact bytes signed and sent (compact, keys in a stable order)."""
    return json.dumps(as_json(row), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
