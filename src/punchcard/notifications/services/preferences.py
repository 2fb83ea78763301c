"""Patients' email choices per category, and the tenant's reminder settings (days before expiry and the
low-balance threshold, kept by packages; which events email patients, kept here)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.packages import services as packages
from punchcard.tenancy.models import Patient, Tenant
from punchcard.tenancy.selectors import scoped_get
from punchcard.tenancy.services import audit

from ..event_types import EMAILABLE, email_events
from ..models import EmailSettings, NotificationPreference

CATEGORIES = ("reminders", "receipts", "billing")


@transaction.atomic
def set_notification_preferences(
    *, tenant: Tenant, actor: Actor, patient_id: int, choices: dict[str, bool], now: dt.datetime | None = None
) -> dict[str, bool]:
    """`choices`: category → subscribed (false opts out). Returns every category's state."""
    actor.require(Perm.MANAGE_PATIENTS)
    now = now or clock.now()
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    for category, subscribed in choices.items():
        if category not in CATEGORIES:
            raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", field=category)
        if not isinstance(subscribed, bool):
            raise InvalidInput(f"{category} must be true or false", field=category)
    for category, subscribed in choices.items():
        NotificationPreference.objects.update_or_create(
            patient=patient,
            category=category,
            defaults={"tenant": tenant, "opted_out": not subscribed, "updated_at": now},
        )
    audit(tenant=tenant, actor=actor, action="patient.notification_preferences", subject=patient, now=now, data=choices)
    return preferences_of(patient)


def preferences_of(patient: Patient) -> dict[str, bool]:
    out = set(NotificationPreference.objects.filter(patient=patient, opted_out=True).values_list("category", flat=True))
    return {category: category not in out for category in CATEGORIES}


@transaction.atomic
def set_reminder_settings(
    *,
    tenant: Tenant,
    actor: Actor,
    days_before_expiry: list[int] | None = None,
    low_balance_sessions: int | None = None,
    email_events: list[str] | None = None,
    now: dt.datetime | None = None,
) -> dict:
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    packages.set_reminder_settings(
        tenant=tenant,
        actor=actor,
        days_before_expiry=days_before_expiry,
        low_balance_sessions=low_balance_sessions,
        now=now,
    )
    if email_events is not None:
        if not isinstance(email_events, list | tuple) or any(e not in EMAILABLE for e in email_events):
            raise InvalidInput(f"email_events may list {', '.join(sorted(EMAILABLE))}", field="email_events")
        EmailSettings.objects.update_or_create(
            tenant=tenant, defaults={"email_events": sorted(set(email_events)), "updated_at": now}
        )
    return reminder_settings(tenant)


def reminder_settings(tenant: Tenant) -> dict:
    days, threshold = packages.reminder_settings(tenant)
    return {
        "days_before_expiry": list(days),
        "low_balance_sessions": threshold,
        "email_events": email_events(tenant.id),
    }
