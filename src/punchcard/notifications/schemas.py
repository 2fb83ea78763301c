"""Request and response bodies of the notifications API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field, StrictBool, StrictInt

from punchcard.kernel.schemas import CURSOR_PATTERN, Input, PageParams, Text

from .event_types import EMAILABLE, EVENT_TYPES


class EventOut(Schema):
    id: str = Field(description="evt_…: unique and stable; the webhook-id of its deliveries")
    type: str
    timestamp: str = Field(description="when it happened, ISO 8601 UTC")
    version: int = Field(description="the payload's version")
    data: dict[str, Any]


# After an event (its id) or a position this API issued (kernel.schemas.CURSOR_PATTERN, unanchored here).
AFTER_PATTERN = "^(evt_[0-9a-f]{32}|" + CURSOR_PATTERN.strip("^$") + ")$"


class EventFilters(Schema):
    type: str | None = Field(None, max_length=64, description="only this event type")
    after: str | None = Field(
        None,
        pattern=AFTER_PATTERN,
        description="an event id (evt_…), or the previous page's next_cursor (a token this API issued)",
    )
    limit: int = Field(100, ge=1, le=500)


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None = Field(
        description="pass as ?after= for what came next (also once caught up); null before any event"
    )


# The types an endpoint may ask for: the catalogue, or "*" for every one.
EventTypeName = Literal[(*EVENT_TYPES, "*")]
EmailableEvent = Literal[tuple(sorted(EMAILABLE))]
# An http(s) URL to a public address: the service checks it (webhook_url_refused), on saving and again on
# the resolved address before each attempt, so the document states only its length.
WebhookUrl = Text(2000, min_length=1)


class EndpointIn(Input):
    url: WebhookUrl
    event_types: list[EventTypeName] = Field(min_length=1, max_length=50, description='types, or ["*"]')
    description: Text(500) = ""


class EndpointPatch(Input):
    url: WebhookUrl | None = None
    event_types: list[EventTypeName] | None = Field(None, min_length=1, max_length=50)
    description: Text(500) | None = None
    enabled: StrictBool | None = None


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str
    created_at: dt.datetime
    rotating_until: dt.datetime | None = Field(description="the previous secret still signs until then")

    @staticmethod
    def of(e) -> EndpointOut:
        return EndpointOut(
            id=e.id,
            url=e.url,
            description=e.description,
            event_types=e.event_types,
            enabled=e.disabled_at is None,
            disabled_reason=e.disabled_reason,
            created_at=e.created_at,
            rotating_until=e.previous_until,
        )


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_…: shown this once; verify signatures with it")


class AttemptOut(Schema):
    id: int
    delivery_id: int
    event_id: str
    event_type: str
    number: int
    at: dt.datetime
    outcome: str = Field(description="delivered | retry | failed | disabled")
    status_code: int | None
    duration_ms: int
    error: str
    next_retry_at: dt.datetime | None
    delivery_state: str = Field(description="pending | delivered | failed")


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    event_id: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime


class PreferencesIn(Input):
    reminders: StrictBool | None = None
    receipts: StrictBool | None = None
    billing: StrictBool | None = Field(None, description="membership renewals coming and failed payments")


class PreferencesOut(Schema):
    patient_id: int
    reminders: bool
    receipts: bool
    billing: bool


class ReminderSettingsIn(Input):
    days_before_expiry: list[StrictInt] | None = Field(None, max_length=5, description="e.g. [14, 3]")
    low_balance_sessions: StrictInt | None = Field(None, ge=0, le=1000)
    email_events: list[EmailableEvent] | None = Field(None, max_length=10)


class ReminderSettingsOut(Schema):
    days_before_expiry: list[int]
    low_balance_sessions: int
    email_events: list[str]


class AttemptFilters(PageParams):
    pass


class ReceiptEmailOut(Schema):
    event_id: str = Field(description="the receipt.email_requested event; the email follows after commit")
    receipt_id: int
    patient_id: int
