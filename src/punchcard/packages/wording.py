"""A package in the clinic's words, for every place that shows one (commands, console, portal, email):
money and dates in the tenant's locale, "Physiotherapy 4 of 10 used, 6 remaining, expires 29 May 2026"."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date

from punchcard.domain.eligibility import Scope
from punchcard.domain.expiry import ExpiryKind, ExpiryMode
from punchcard.domain.money import format_money
from punchcard.domain.status import PackageStatus
from punchcard.tenancy.models import Tenant


def money(tenant: Tenant, amount: int, currency: str | None = None) -> str:
    return format_money(amount, currency or tenant.currency, tenant.locale)


def day(tenant: Tenant, value: dt.date | None) -> str:
    return format_date(value, format="d MMM yyyy", locale=tenant.locale) if value else "—"


def expiry_text(tenant: Tenant, summary) -> str:
    """'expires 29 May 2026', 'expires 60 days after the first use', 'expired 26 Mar 2026', 'no expiry'."""
    package = summary.package
    if package.closure:
        return f"closed {day(tenant, package.closed_at.astimezone(package.sold_at.zone).date())}"
    if package.expires_on is None:
        rule = package.expiry_rule
        if rule.kind is ExpiryKind.AFTER_FIRST_USE and package.first_used_on is None:
            return f"expires {rule.count} {rule.unit} after the first use"
        return "no expiry"
    grace = ""
    if package.expiry_mode == ExpiryMode.SOFT and package.grace_days:
        grace = f" (grace until {day(tenant, summary.usable_until)})"
    if summary.status.status is PackageStatus.EXPIRED:
        return f"expired after {day(tenant, package.expires_on)}{grace}"
    return f"expires {day(tenant, package.expires_on)}{grace}"


def line_text(line, expiry: str) -> str:
    """'Physiotherapy 4 of 10 used, 6 remaining, expires 29 May 2026'."""
    text = f"{line.label} {line.redeemed} of {line.granted} used, {line.remaining} remaining"
    if line.forfeited:
        text += f" ({line.forfeited} forfeited)"
    return f"{text}, {expiry}"


def status_text(summary) -> str:
    status = str(summary.status.status)
    return f"{status} (in grace)" if summary.status.in_grace else status


def scope_text(version) -> str:
    scope = Scope(version.scope)
    if scope is Scope.ALL:
        return "all centres"
    if scope is Scope.SINGLE:
        return "centre of sale"
    return ", ".join(c.name for c in version.centres.order_by("name"))
