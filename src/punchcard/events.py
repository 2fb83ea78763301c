"""Domain events and the unit of work they belong to (DESIGN "Events", rule 7).

A service says what happened with `record("redemption.created", tenant=..., subject=redemption, ...)`
inside its transaction. Two kinds of listener hear it:

- **in the transaction** (`on(type, handler, when=RECORDED)`): called at once, inside the recording
  service's transaction, so what it writes commits or rolls back with the change (the ledger's chart of
  accounts for a new tenant, a reversal hung on a voided redemption, the outbox row of an event);
- **after commit** (`on(type, handler)`, the default): called once the outermost transaction has
  committed, never if it rolls back. Nothing leaves the process (webhooks, email) any other way.

A lower app records events and never learns who listens; higher apps register their handlers in their
`AppConfig.ready`. `type` "*" listens to every event. Events carry a JSON-able `payload` of ids and
figures (what an integrator needs, versioned by `version`); `subject` and `actor` are the in-process
objects, for listeners in this process only.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from punchcard import clock

logger = logging.getLogger(__name__)

RECORDED = "recorded"
COMMITTED = "committed"
ANY = "*"


@dataclass(frozen=True)
class Event:
    type: str  # "package.sold", "redemption.created", …
    tenant_id: int
    occurred_at: dt.datetime
    payload: dict[str, Any]
    version: int = 1
    id: str = field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")  # unique and stable: the outbox keeps it
    tenant: Any = field(default=None, compare=False, repr=False)
    subject: Any = field(default=None, compare=False, repr=False)
    actor: Any = field(default=None, compare=False, repr=False)


Handler = Callable[[Event], None]
_handlers: dict[str, dict[str, list[Handler]]] = {RECORDED: defaultdict(list), COMMITTED: defaultdict(list)}


def on(event_type: str, handler: Handler, *, when: str = COMMITTED) -> None:
    """Listen to `event_type` (or ANY). Registering the same handler twice is harmless."""
    if when not in _handlers:
        raise ValueError(f"when must be {RECORDED!r} or {COMMITTED!r}")
    handlers = _handlers[when][event_type]
    if handler not in handlers:
        handlers.append(handler)


def off(event_type: str, handler: Handler, *, when: str = COMMITTED) -> None:
    """Stop listening (tests)."""
    handlers = _handlers[when][event_type]
    if handler in handlers:
        handlers.remove(handler)


def _listeners(when: str, event_type: str) -> list[Handler]:
    return [*_handlers[when].get(event_type, ()), *_handlers[when].get(ANY, ())]


def record(
    event_type: str,
    *,
    tenant,
    subject=None,
    actor=None,
    at: dt.datetime | None = None,
    version: int = 1,
    **payload,
) -> Event:
    """Record that something happened, in the current transaction (refused outside one)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{event_type} recorded outside a transaction: record events inside the service's atomic")
    event = Event(
        type=event_type,
        tenant_id=tenant.id,
        occurred_at=at or clock.now(),
        payload=payload,
        version=version,
        tenant=tenant,
        subject=subject,
        actor=actor,
    )
    for handler in _listeners(RECORDED, event_type):
        handler(event)
    if _listeners(COMMITTED, event_type):
        transaction.on_commit(lambda: _deliver(event))
    return event


def _deliver(event: Event) -> None:
    # Listeners after commit are independent: one failing must not keep the event from the others.
    for handler in _listeners(COMMITTED, event.type):
        try:
            handler(event)
        except Exception:
            logger.exception("after-commit handler %s failed for %s %s", handler, event.type, event.id)
