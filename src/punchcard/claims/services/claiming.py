"""Claiming a code (SPEC §7, §9): a bulk or gift code makes the claimant's package, a transfer code moves
one. Every refusal counts towards the guessing limit (claims.throttle)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock, events
from punchcard.billing import services as billing
from punchcard.billing.models import OrderLine
from punchcard.domain.errors import Conflict, InvalidInput, NotFound
from punchcard.domain.roles import Actor, Perm
from punchcard.packages import selectors as package_selectors
from punchcard.packages import services as packages
from punchcard.tenancy.models import Patient, Role, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from .. import codes, throttle
from ..models import ClaimCode, ClaimKind, ClaimStatus

# The refusals a guesser can provoke; other errors (a bad patient id, a package rule) are not counted.
_COUNTED_REFUSALS = {
    "claim_code_mistyped",
    "claim_code_unknown",
    "claim_code_used",
    "claim_code_revoked",
    "claim_code_expired",
    "claim_code_unpaid",
}


def claim_code(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    patient_id: int,
    now: dt.datetime | None = None,
) -> ClaimCode:
    """Claim a code for a patient: a bulk or gift code makes the package in their name; a transfer code
    moves its package to them. Claiming the same code again for the same patient answers the same.

    Refusals have distinct codes (mistyped, unknown, used, revoked, expired, unpaid). Every refusal is
    counted against the caller and the typed code's prefix; past throttle.FAILURE_LIMIT in
    throttle.FAILURE_WINDOW, RateLimited. The counters are written in their own transactions (committed
    before the code is looked up, so a burst cannot overtake them): call this outside any other transaction.
    """
    actor.require(Perm.SELL, for_patient=patient_id)
    now = now or clock.now()
    reservation = throttle.reserve(tenant, throttle.buckets(actor, code), now)
    try:
        with transaction.atomic():
            claimed = _claim(tenant=tenant, actor=actor, text=code, patient_id=patient_id, now=now)
    except (InvalidInput, NotFound, Conflict) as exc:
        if exc.code not in _COUNTED_REFUSALS:
            reservation.give_back()
        raise
    except BaseException:
        reservation.give_back()
        raise
    reservation.give_back()
    return claimed


def _claim(*, tenant: Tenant, actor: Actor, text: str, patient_id: int, now: dt.datetime) -> ClaimCode:
    try:
        canonical = codes.normalise(text)
    except codes.Malformed as exc:
        raise InvalidInput(f"not a valid claim code: {exc}", code="claim_code_mistyped", field="code") from None
    patient = scoped_get(Patient, tenant=tenant, pk=patient_id, field="patient_id")
    code = (
        ClaimCode.objects.select_for_update(no_key=True).filter(tenant=tenant, digest=codes.digest(canonical)).first()
    )
    if code is None:
        raise NotFound(
            "no claim code like this exists; check it was typed as printed", code="claim_code_unknown", field="code"
        )
    if code.status == ClaimStatus.CLAIMED:
        if code.claimant_id == patient.id:
            return code  # the same claim again
        raise Conflict(f"the code …{code.hint} was already claimed", code="claim_code_used", field="code")
    if code.status == ClaimStatus.REVOKED:
        raise Conflict(f"the code …{code.hint} was revoked", code="claim_code_revoked", field="code")
    if code.status == ClaimStatus.UNPAID:
        raise Conflict(f"the order behind code …{code.hint} is not paid yet", code="claim_code_unpaid", field="code")
    if code.kind == ClaimKind.TRANSFER:
        package = packages.lock_package(tenant, code.package_id)
        today = package_selectors.today_for(package, now)
    else:
        line = OrderLine.objects.select_related(
            "order__centre", "order__tenant", "order__patient", "order__credited_staff", "plan_version"
        ).get(pk=code.order_line_id)
        today = local_date(now, line.order.centre)
    if code.status == ClaimStatus.EXPIRED or (code.expires_on is not None and today > code.expires_on):
        raise Conflict(
            f"the code …{code.hint} expired after {code.expires_on.isoformat()}",
            code="claim_code_expired",
            field="code",
        )
    if code.kind == ClaimKind.TRANSFER:
        if package.holder_id != code.buyer_id:
            raise Conflict(
                f"the code …{code.hint} no longer applies: the package changed hands",
                code="claim_code_revoked",
                field="code",
            )
        # The manager who made the code authorised the transfer; the claim carries it out.
        delegate = Actor(
            label=f"{actor.label} (transfer code …{code.hint})",
            role=Role.MANAGER,
            source=actor.source,
            staff_id=actor.staff_id,
        )
        packages.transfer_package(
            tenant=tenant,
            actor=delegate,
            package_id=package.id,
            to_patient_id=patient.id,
            reason=f"claimed transfer code …{code.hint}",
            now=now,
        )
    else:
        package = billing.activate_package(
            order=line.order, line=line, actor=actor, now=now, holder=patient, claim_code_id=code.id
        )
        code.package = package
    code.status, code.claimed_at, code.claimed_by, code.claimant = ClaimStatus.CLAIMED, now, actor.label, patient
    code.deferred_value = 0
    code.save(update_fields=["status", "claimed_at", "claimed_by", "claimant", "package", "deferred_value"])
    audit(
        tenant=tenant,
        actor=actor,
        action="claim_code.claim",
        subject=code,
        now=now,
        data={"patient_id": patient.id, "package_id": code.package_id, "kind": code.kind},
    )
    events.record(
        "claim_code.claimed",
        tenant=tenant,
        subject=code,
        actor=actor,
        at=now,
        claim_code_id=code.id,
        kind=code.kind,
        patient_id=patient.id,
        package_id=code.package_id,
    )
    return code
