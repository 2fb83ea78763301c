"""What a use of sessions checks and decides, whichever way it is then written (the ORM, or one statement
on PostgreSQL): the rules of SPEC §5 at the centre's local date, back-dating, the first use's expiry."""

from __future__ import annotations

import datetime as dt

from punchcard.domain import validation
from punchcard.domain.eligibility import Decision, LineBalance, Request, Use, check_use
from punchcard.domain.errors import RuleViolation
from punchcard.domain.expiry import ExpiryKind, Validity, last_valid_day, validity_on
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Centre, Patient, Service, Tenant
from punchcard.tenancy.services import audit

from .. import selectors
from ..models import Package, PackageLine


def check(
    package: Package,
    lines: list[PackageLine],
    *,
    day: dt.date,
    centre: Centre,
    service: Service,
    person: Patient,
    sessions: int,
    centre_ids: frozenset[int] | None = None,
    live_beneficiaries: frozenset[int] | None = None,
    uses: list[Use] | None = None,
) -> Decision:
    """`check_use` on the package as it is now; what the caller did not read already is read here."""
    rules = selectors.rules_of(
        package, person_id=person.id, centre_ids=centre_ids, live_beneficiaries=live_beneficiaries
    )
    balances = [LineBalance(line.id, frozenset(line.service_ids), line.available) for line in lines]
    if uses is None:
        uses = selectors.uses_for_caps(package, rules.caps, day)
    return check_use(rules, balances, Request(day, centre.id, service.id, person.id, sessions), uses)


def backdating(actor: Actor, day: dt.date, today: dt.date, centre: Centre, reason: str | None) -> str | None:
    """None for today or later; for an earlier day, the manager's reason — or a refusal.

    A use dated in the past would be checked against that day, so a package expired since could still be
    spent: only a manager may do it, explicitly and with a reason (audited with the hold or redemption)."""
    if day >= today:
        return None
    if reason is None or not str(reason).strip():
        raise RuleViolation(
            f"{day.isoformat()} is before today ({today.isoformat()}) at {centre.name}: "
            "a manager can back-date it with a reason",
            code="backdated",
            field="day",
            day=day.isoformat(),
            today=today.isoformat(),
        )
    actor.require(Perm.ADJUST)
    return validation.reason(reason, field="backdate_reason")


def audit_backdate(tenant: Tenant, actor: Actor, subject, reason: str, day: dt.date, today: dt.date, now) -> None:
    audit(
        tenant=tenant,
        actor=actor,
        action=f"{subject._meta.model_name}.backdate",
        subject=subject,
        reason=reason,
        now=now,
        data={"day": day.isoformat(), "today": today.isoformat()},
    )


def first_use(package: Package, day: dt.date) -> dict:
    """After-first-use expiry starts counting at the first redemption: the package's columns that change
    (set on `package` too), or {} when it was used before."""
    if package.first_used_on is not None:
        return {}
    package.first_used_on = day
    fields = ["first_used_on"]
    rule = package.expiry_rule
    if rule.kind is ExpiryKind.AFTER_FIRST_USE and not package.expiry_overridden:
        package.expires_on = last_valid_day(
            rule, start=package.start_date, purchased_on=package.purchased_on, first_used_on=day
        )
        fields.append("expires_on")
    return {f: getattr(package, f) for f in fields}


def in_grace(package: Package, day: dt.date) -> bool:
    """A session on a soft-expiry grace day is flagged (SPEC §4.3)."""
    return (
        validity_on(
            day,
            start=package.start_date,
            last_day=package.expires_on,
            mode=package.expiry_mode,
            grace_days=package.grace_days,
        )
        is Validity.IN_GRACE
    )
