"""When a newer version of a membership plan reaches a member (SPEC §10.2): from the first of their billing
dates at least N days after the version was made, never mid-period, N being the tenant's
`membership_price_notice_days` (default 30), so the notice N days before is always possible. And what the
next period will bill, a change scheduled for the period end or such a new price included."""

from __future__ import annotations

import datetime as dt

from punchcard.domain import validation
from punchcard.domain.periods import Frequency, period_on
from punchcard.tenancy.selectors import local_date

from ..models import ChangeStatus, Membership, MembershipPlanVersion

PRICE_NOTICE_DAYS = 30
PRICE_NOTICE_SETTING = "membership_price_notice_days"  # the tenant's settings key


def price_notice_days(tenant) -> int:
    """How many days before a new price applies its notice is sent (and so, at the least, after the version)."""
    value = (tenant.settings or {}).get(PRICE_NOTICE_SETTING, PRICE_NOTICE_DAYS)
    return validation.whole(value, PRICE_NOTICE_SETTING, low=0, high=365)


def first_billing_on_or_after(membership: Membership, day: dt.date) -> dt.date:
    """The first of the membership's billing dates on or after `day` (its anchor, at the earliest)."""
    if day <= membership.anchor:
        return membership.anchor
    span = period_on(membership.anchor, Frequency(membership.frequency), day)
    return span.start if span.start == day else span.end


def newer_version(membership: Membership, start: dt.date) -> MembershipPlanVersion | None:
    """The plan's newest version, if it reaches the member from the period starting `start`: newer than
    theirs, offered at their frequency, and made at least the notice days before."""
    newest = membership.plan.versions.order_by("-number").first()
    if newest is None or newest.number <= membership.version.number or newest.price_for(membership.frequency) is None:
        return None
    made = local_date(newest.created_at, membership.centre)
    return newest if start >= made + dt.timedelta(days=price_notice_days(membership.tenant)) else None


def price_from(membership: Membership, start: dt.date) -> int:
    """The price per period the member will be billed for the period starting `start` (a paid one)."""
    scheduled = membership.changes.filter(status=ChangeStatus.SCHEDULED, effective_on__lte=start).first()
    if scheduled is not None:
        return scheduled.to_version.price_for(scheduled.to_frequency)
    newer = newer_version(membership, start)
    return newer.price_for(membership.frequency) if newer is not None else membership.price
