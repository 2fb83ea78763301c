"""Notices ahead of a membership's dates (SPEC §12): `membership.renewal_upcoming` 14 days before a renewal,
`membership.trial_will_end` 3 days before a trial ends. Each once per membership and date it is about
(MembershipNotice is unique), however often the daily run goes."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from punchcard import events
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.roles import SYSTEM
from punchcard.tenancy.selectors import local_date

from ..models import Membership, MembershipNotice, NoticeKind

RENEWAL_NOTICE_DAYS = 14
TRIAL_NOTICE_DAYS = 3


def _tell(membership: Membership, kind: NoticeKind, about: dt.date, now: dt.datetime, **payload) -> bool:
    try:
        with transaction.atomic():
            MembershipNotice.objects.create(
                tenant=membership.tenant, membership=membership, kind=kind, about=about, told_at=now
            )
            events.record(
                f"membership.{kind}",
                tenant=membership.tenant,
                subject=membership,
                actor=SYSTEM,
                at=now,
                membership_id=membership.id,
                patient_id=membership.patient_id,
                plan_name=membership.version.name,
                amount=membership.price,
                currency=membership.tenant.currency,
                **payload,
            )
    except IntegrityError:
        return False  # told already
    return True


def tell_due_notices(*, now: dt.datetime, tenant_id: int | None = None) -> int:
    """Every notice due as of `now` (each membership on its centre's day); how many were told."""
    horizon = now.date() + dt.timedelta(days=RENEWAL_NOTICE_DAYS + 1)
    rows = Membership.objects.select_related("centre", "version", "tenant").filter(
        status__in=[MembershipStatus.ACTIVE, MembershipStatus.TRIALING], next_billing_date__lte=horizon
    )
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    told = 0
    for membership in rows.order_by("id"):
        today = local_date(now, membership.centre)
        renews = membership.next_billing_date
        if membership.status == MembershipStatus.TRIALING and membership.trial_end == renews:
            days_left = (renews - today).days
            if 0 <= days_left <= TRIAL_NOTICE_DAYS:
                told += _tell(
                    membership,
                    NoticeKind.TRIAL_WILL_END,
                    renews,
                    now,
                    trial_end=renews.isoformat(),
                    converts_on=renews.isoformat(),
                    days_left=days_left,
                )
        elif 0 <= (renews - today).days <= RENEWAL_NOTICE_DAYS:
            told += _tell(
                membership,
                NoticeKind.RENEWAL_UPCOMING,
                renews,
                now,
                renews_on=renews.isoformat(),
                days_left=(renews - today).days,
            )
    return told
