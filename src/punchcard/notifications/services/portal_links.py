"""A portal link emailed to the patient: a new link (tenancy.portal_links) and an event in one transaction,
so the email is sent after commit, once; the email carries the link, made again from its row when sent
(the event and its webhooks carry only the link's id)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import Actor
from punchcard.tenancy import portal_links
from punchcard.tenancy.models import PortalLink, Tenant
from punchcard.tenancy.selectors import patient as find_patient


@transaction.atomic
def email_portal_link(
    *,
    tenant: Tenant,
    actor: Actor,
    patient_id: int,
    days: int = portal_links.DEFAULT_DAYS,
    now: dt.datetime | None = None,
) -> PortalLink:
    now = now or clock.now()
    patient = find_patient(tenant, patient_id)
    if not patient.email:
        raise InvalidInput(
            "the patient has no email address: add one, or give them the link another way", field="email"
        )
    link = portal_links.create_portal_link(tenant=tenant, actor=actor, patient_id=patient.id, days=days, now=now)
    events.record(
        "portal_link.email_requested",
        tenant=tenant,
        subject=link,
        actor=actor,
        at=now,
        link_id=link.id,
        patient_id=patient.id,
        expires_at=link.expires_at.isoformat(),
    )
    return link
