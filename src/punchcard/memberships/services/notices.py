"""Notices ahead of a membership's dates (SPEC §12): `membership.renewal_upcoming` 14 days before a renewal,
`membership.trial_will_end` 3 days before a trial ends, `membership.price_change_notice` N days before a
newer plan version's price reaches the member (SPEC §10.2: N is the tenant's
`membership_price_notice_days`, default 30). Each once per membership and date it is about
(MembershipNotice is unique), however often the daily run goes."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from punchcard import events
from punchcard.domain.membership_status import MembershipStatus
from punchcard.domain.roles import SYSTEM
from punchcard.tenancy.selectors import local_date

from ..models import Membership, MembershipNotice, MembershipPlanVersion, NoticeKind
from .prices import first_billing_on_or_after, price_from, price_notice_days

RENEWAL_NOTICE_DAYS = 14
TRIAL_NOTICE_DAYS = 3
# A new price reaches these members from a coming period (a cancelling one ends before it).
PRICED = (MembershipStatus.ACTIVE, MembershipStatus.TRIALING, MembershipStatus.PAST_DUE, MembershipStatus.PAUSED)


def _tell(
    membership: Membership, kind: NoticeKind, about: dt.date, now: dt.datetime, *, amount: int, **payload
) -> bool:
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
                amount=amount,
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
                    amount=price_from(membership, renews),
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
                amount=price_from(membership, renews),  # a scheduled change's or a new price, when one applies
                renews_on=renews.isoformat(),
                days_left=(renews - today).days,
            )
    return told + tell_price_changes(now=now, tenant_id=tenant_id)


def tell_price_changes(*, now: dt.datetime, tenant_id: int | None = None) -> int:
    """`membership.price_change_notice` for members whose plan has a newer version at another price: told on
    the day N days before the first billing date at least N days after the version was made (the day the
    new price applies, `prices.newer_version`), or on a later day if the run missed it; once per member and
    change."""
    newer = MembershipPlanVersion.objects.filter(plan=OuterRef("plan_id"), number__gt=OuterRef("version__number"))
    rows = (
        Membership.objects.select_related("centre", "version", "plan", "tenant")
        .filter(Exists(newer), status__in=PRICED, next_billing_date__isnull=False)
        .exclude(changes__status="scheduled")  # moving to another plan (or frequency) at the period end
    )
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    told = 0
    for membership in rows.order_by("id"):
        newest = membership.plan.versions.order_by("-number").first()
        new_price = newest.price_for(membership.frequency)
        if new_price is None or new_price == membership.price:
            continue
        days = price_notice_days(membership.tenant)
        made = local_date(newest.created_at, membership.centre)
        applies = first_billing_on_or_after(
            membership, max(made + dt.timedelta(days=days), membership.next_billing_date)
        )
        today = local_date(now, membership.centre)
        if applies - dt.timedelta(days=days) <= today < applies:
            told += _tell(
                membership,
                NoticeKind.PRICE_CHANGE_NOTICE,
                applies,
                now,
                amount=new_price,
                plan_version=newest.number,
                old_amount=membership.price,
                new_amount=new_price,
                applies_from=applies.isoformat(),
                days_left=(applies - today).days,
            )
    return told
