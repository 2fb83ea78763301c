"""The one clock. Services take `now` from here unless a caller passes one.

Tests and the CLI's `--as-of` set it; nothing else reads the system time.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager

_frozen: dt.datetime | None = None


def _from_env() -> dt.datetime | None:
    value = os.environ.get("PUNCHCARD_NOW")
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def now() -> dt.datetime:
    """The current instant, timezone-aware UTC."""
    if _frozen is not None:
        return _frozen
    return _from_env() or dt.datetime.now(dt.UTC)


def set_now(instant: dt.datetime | None) -> None:
    global _frozen  # noqa: PLW0603 - the one clock is process state, by design
    if instant is not None and instant.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    _frozen = instant.astimezone(dt.UTC) if instant else None


@contextmanager
def frozen_at(instant: dt.datetime):
    previous = _frozen
    set_now(instant)
    try:
        yield instant
    finally:
        set_now(previous)


def wall() -> dt.datetime:
    """The machine's real time, for what a peer checks against its own clock (a webhook's signed
    timestamp): never frozen, never used for business dates."""
    return dt.datetime.now(dt.UTC)
