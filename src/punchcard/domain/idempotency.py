"""Idempotent writes (DESIGN rule 3): the one comparison every repeated request goes through.

A write that carries an idempotency key stores it with its result. A repeat with the same key returns
that result if it asks for the same thing, and is refused as `idempotency_conflict` if it does not.
"""

from __future__ import annotations

import hashlib
import json

from .errors import Conflict


def fingerprint(**fields) -> str:
    """A stable digest of what a request asks for (key order and spacing do not matter)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def replay(existing, *, what: str = "request", field: str = "idempotency_key", **expected):
    """`existing` (the first result) if each `expected` attribute matches it; otherwise the conflict."""
    for name, value in expected.items():
        if getattr(existing, name) != value:
            raise Conflict(
                f"this idempotency key was used for a different {what}", code="idempotency_conflict", field=field
            )
    return existing
