"""The one clock. Services take `now` from here unless a caller passes one; nothing else reads the system
time.

`now()` answers, first match wins:

1. an explicit freeze (`set_now`, `frozen_at`): the tests' and the CLI's `--as-of`. Process-wide and
   deliberate, so it beats everything: a test that freezes the clock gets exactly that instant, and
   `--as-of` on a sandbox tenant's command means what it says.
2. the tenant's own clock (`tenant_time`): a sandbox tenant with a test clock, entered where the tenant
   becomes known (API authentication, the console's desk, a CLI command's `--tenant`, each step of an
   advance). A context variable: it belongs to this thread (or task) only, so a request for a sandbox
   never moves the clock of another request, and the middleware clears it at every request's start and
   end, so a thread serving the next request never inherits it.
3. `PUNCHCARD_NOW`: an operator's frozen demo or "as of" run of the whole process.
4. the real time.

A live tenant never has a clock of its own, so for it only 1, 3 and 4 apply.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from contextvars import ContextVar

_frozen: dt.datetime | None = None
_tenant_now: ContextVar[dt.datetime | None] = ContextVar("punchcard_tenant_now", default=None)


def _from_env() -> dt.datetime | None:
    value = os.environ.get("PUNCHCARD_NOW")
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _aware(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    return instant.astimezone(dt.UTC)


def now() -> dt.datetime:
    """The current instant, timezone-aware UTC (see the module's precedence)."""
    if _frozen is not None:
        return _frozen
    return _tenant_now.get() or _from_env() or dt.datetime.now(dt.UTC)


def set_now(instant: dt.datetime | None) -> None:
    global _frozen  # noqa: PLW0603 - the one clock is process state, by design
    _frozen = _aware(instant) if instant else None


def is_frozen() -> bool:
    """Whether an explicit freeze (a test's, `--as-of`) decides the time, whatever a tenant's clock says."""
    return _frozen is not None


@contextmanager
def frozen_at(instant: dt.datetime):
    previous = _frozen
    set_now(instant)
    try:
        yield instant
    finally:
        set_now(previous)


@contextmanager
def tenant_time(instant: dt.datetime | None):
    """Work as of a tenant's own clock until the block ends (None: no clock of its own, real time).
    Nests: the innermost block wins, and leaving it restores the one around it."""
    token = _tenant_now.set(_aware(instant) if instant else None)
    try:
        yield instant
    finally:
        _tenant_now.reset(token)


def use_tenant_time(instant: dt.datetime | None) -> None:
    """Enter a tenant's clock for the rest of the current request (the API's authentication, the console's
    desk): the request middleware's `reset_tenant_time` ends it."""
    _tenant_now.set(_aware(instant) if instant else None)


def reset_tenant_time() -> None:
    """Back to no tenant's clock (at a request's start and end)."""
    _tenant_now.set(None)


def tenant_instant() -> dt.datetime | None:
    """The tenant's clock in force here, if any (whether or not a freeze overrides it)."""
    return _tenant_now.get()


def wall() -> dt.datetime:
    """The machine's real time, for what a peer checks against its own clock (a webhook's signed
    timestamp): never frozen, never used for business dates."""
    return dt.datetime.now(dt.UTC)
