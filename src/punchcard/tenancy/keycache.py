"""API keys remembered by each process for a few seconds, so a request does not look its key up again.

Every API request presents its key; reading the key and its tenant is one statement, but on the hot
routes it is a tenth of the request's time. A process therefore keeps what it read (the key's row and
its tenant's) for `settings.API_KEY_CACHE_SECONDS` (default 5) of the machine's real time
(`clock.wall`: a frozen business clock must not freeze the cache). The secret is still checked on every
request against the remembered digest. Each request gets its own copies of the rows, so nothing one
request caches on its tenant (the chart of accounts) reaches another.

Revoking a key, or changing a tenant, through the services forgets the entry in that process at once
(and again at commit); every other process — another gunicorn worker, another machine — stops
accepting a revoked key within the window. 0 turns the cache off.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from punchcard import clock

from .models import ApiKey


@dataclass(frozen=True)
class _Entry:
    key: ApiKey  # with its tenant; never handed out, only copied
    loaded_at: dt.datetime


_entries: dict[str, _Entry] = {}
_lock = threading.Lock()


def window() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "API_KEY_CACHE_SECONDS", 5)))


def _copy(key: ApiKey) -> ApiKey:
    mine = copy.copy(key)
    mine.tenant = copy.copy(key.tenant)
    return mine


def remembered(prefix: str) -> ApiKey | None:
    """A copy of the live key with this prefix as read less than the window ago, or None."""
    entry = _entries.get(prefix)
    if entry is None:
        return None
    now = clock.wall()
    if not entry.loaded_at <= now < entry.loaded_at + window():
        with _lock:
            if _entries.get(prefix) is entry:
                del _entries[prefix]
        return None
    return _copy(entry.key)


def remember(key: ApiKey) -> ApiKey:
    """Keep a live key (with its tenant) for the window; answers the caller's own copy."""
    if window() > dt.timedelta(0) and key.keyed and key.revoked_at is None:
        with _lock:
            _entries[key.prefix] = _Entry(_copy(key), clock.wall())
    return key


def touched(prefix: str, at: dt.datetime) -> None:
    """The key's last use was recorded at `at`: later requests in the window need not record it."""
    entry = _entries.get(prefix)
    if entry is not None:
        entry.key.last_used_at = at


def forget(*, prefix: str | None = None, tenant_id: int | None = None) -> None:
    """Drop a key's entry (revoked) or a tenant's (changed), now and again when the transaction commits:
    a request between the two could otherwise read the row as it was before the commit."""

    def drop() -> None:
        with _lock:
            gone = [p for p, e in _entries.items() if p == prefix or e.key.tenant_id == tenant_id]
            for name in gone:
                del _entries[name]

    drop()
    transaction.on_commit(drop)


def clear() -> None:
    with _lock:
        _entries.clear()
