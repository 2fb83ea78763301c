"""What happens to a code nobody claims: revoked (refunded or forfeited), reissued when lost, or expired
by the nightly sweep, its held value then booked as breakage (SPEC §9)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.billing.models import Order
from punchcard.domain import posting, validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.money import div_round_half_up
from punchcard.domain.roles import Actor, Perm
from punchcard.ledger import services as journal
from punchcard.tenancy.models import Role, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get
from punchcard.tenancy.services import audit

from .. import codes
from ..models import ClaimCode, ClaimKind, ClaimStatus
from .issuing import IssuedCode


def _locked_code(tenant: Tenant, code_id, *, no_key: bool) -> ClaimCode:
    return scoped_get(
        ClaimCode,
        tenant=tenant,
        pk=code_id,
        field="code_id",
        queryset=ClaimCode.objects.select_for_update(no_key=no_key),
    )


def _refuse_closed(code: ClaimCode) -> None:
    if code.status == ClaimStatus.CLAIMED:
        raise Conflict(f"the code …{code.hint} was already claimed", code="claim_code_used")
    if code.status == ClaimStatus.REVOKED:
        raise Conflict(f"the code …{code.hint} was already revoked", code="claim_code_revoked")
    if code.status == ClaimStatus.EXPIRED:
        raise Conflict(f"the code …{code.hint} has expired", code="claim_code_expired")


def _collected(code: ClaimCode) -> int:
    """What the buyer has paid for this code (a partly paid pay-later order counts in proportion)."""
    order = code.order_line.order
    settled = order.paid + order.credit_applied
    return code.gross if settled >= order.gross else code.gross * settled // order.gross


@transaction.atomic
def revoke_claim_code(
    *,
    tenant: Tenant,
    actor: Actor,
    code_id: int,
    reason: str,
    refund: bool = True,
    amount: int | None = None,
    now: dt.datetime | None = None,
) -> ClaimCode:
    """Revoke an open code. A paid bulk/gift code's held value is refunded to the buyer's credit (any amount
    from 0 to what was paid for it, default all of it; the difference is a refund adjustment), or with
    refund=False forfeited as breakage. A transfer code just stops working."""
    actor.require(Perm.REFUND)
    now = now or clock.now()
    reason = validation.reason(reason)
    code = _locked_code(tenant, code_id, no_key=True)
    _refuse_closed(code)
    if code.status == ClaimStatus.UNPAID:
        raise Conflict("the order is not paid: cancel the order instead", code="claim_code_unpaid")
    data = {"refund": refund}
    if code.kind != ClaimKind.TRANSFER:
        order = Order.objects.select_related("centre").get(pk=code.order_line.order_id)
        held, day = code.deferred_value, local_date(now, order.centre)
        if refund:
            collected = _collected(code)
            amount = collected if amount is None else amount
            if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= collected:
                raise InvalidInput(
                    f"a refund must be between 0 and the {collected} paid for the code",
                    code="refund_out_of_range",
                    field="amount",
                    collected=collected,
                )
            # A credit note, as for a package (README, "Money"): the tax inside the refund is no longer owed.
            # An open code still holds its whole net value, so its tax is what the buyer paid above it.
            tax = div_round_half_up(amount * (code.gross - held), code.gross) if code.gross else 0
            postings = posting.refund_to_credit(amount=amount, value_by_line={None: held}, tax=tax)
            kind, memo = "refund", f"claim code …{code.hint} revoked, refunded to credit: {reason}"
            data.update(amount=amount, tax_credited=tax)
        else:
            postings = posting.breakage(value_by_line={None: held}) if held else []
            kind, memo = "breakage", f"claim code …{code.hint} revoked, forfeited: {reason}"
        if postings:
            journal.record(
                tenant=tenant,
                kind=kind,
                event=("claim_code", code.id),
                at=now,
                date=day,
                centre=order.centre,
                patient=code.buyer,
                memo=memo,
                postings=postings,
            )
    code.status, code.deferred_value = ClaimStatus.REVOKED, 0
    code.closed_at, code.closed_by, code.closed_reason = now, actor.label, reason
    code.save(update_fields=["status", "deferred_value", "closed_at", "closed_by", "closed_reason"])
    audit(tenant=tenant, actor=actor, action="claim_code.revoke", subject=code, reason=reason, now=now, data=data)
    return code


@transaction.atomic
def reissue_claim_code(
    *, tenant: Tenant, actor: Actor, code_id: int, reason: str, now: dt.datetime | None = None
) -> IssuedCode:
    """A lost or leaked code: the same record (and the value it holds) gets a new code; the old one stops."""
    actor.require(Perm.SELL)
    now = now or clock.now()
    reason = validation.reason(reason)
    # A full FOR UPDATE: the digest changes, and (tenant, digest) is a unique key.
    code = _locked_code(tenant, code_id, no_key=False)
    _refuse_closed(code)
    old_hint = code.hint
    for _ in range(5):
        plaintext = codes.generate()
        digest = codes.digest(plaintext)
        if not ClaimCode.objects.filter(tenant=tenant, digest=digest).exists():
            break
    code.digest, code.hint, code.reissued = digest, codes.hint(plaintext), code.reissued + 1
    code.save(update_fields=["digest", "hint", "reissued"])
    audit(
        tenant=tenant,
        actor=actor,
        action="claim_code.reissue",
        subject=code,
        reason=reason,
        now=now,
        data={"old": old_hint, "new": code.hint},
    )
    return IssuedCode(code, plaintext)


def expire_claim_codes(
    *, as_of: dt.date | None = None, tenant: Tenant | None = None, now: dt.datetime | None = None
) -> int:
    """The nightly sweep: open codes past their last day expire; a paid code's held value becomes breakage.

    Idempotent; each code is its own short transaction. `as_of` is the local date (default: today, UTC).
    """
    now = now or clock.now()
    day = as_of or now.date()
    candidates = (
        ClaimCode.objects.filter(status=ClaimStatus.OPEN, expires_on__lt=day)
        .values_list("id", flat=True)
        .order_by("id")
    )
    if tenant is not None:
        candidates = candidates.filter(tenant=tenant)
    sweeper = Actor(label="sweep", role=Role.ADMIN, source="claim-code expiry")
    expired = 0
    for code_id in list(candidates):
        with transaction.atomic():
            # of=("self",): the joined tenant row is read, not locked (DESIGN rule 10).
            locked = ClaimCode.objects.select_for_update(no_key=True, of=("self",)).select_related("tenant")
            code = locked.get(pk=code_id)
            if code.status != ClaimStatus.OPEN or code.expires_on is None or code.expires_on >= day:
                continue
            if code.deferred_value:
                order = Order.objects.select_related("centre").get(pk=code.order_line.order_id)
                journal.record(
                    tenant=code.tenant,
                    kind="breakage",
                    event=("claim_code", code.id),
                    at=now,
                    date=as_of or local_date(now, order.centre),
                    centre=order.centre,
                    patient=code.buyer,
                    memo=f"claim code …{code.hint} expired unclaimed",
                    postings=posting.breakage(value_by_line={None: code.deferred_value}),
                )
            code.status, code.deferred_value = ClaimStatus.EXPIRED, 0
            code.closed_at, code.closed_by = now, sweeper.label
            code.closed_reason = f"expired after {code.expires_on.isoformat()}"
            code.save(update_fields=["status", "deferred_value", "closed_at", "closed_by", "closed_reason"])
            audit(tenant=code.tenant, actor=sweeper, action="claim_code.expire", subject=code, now=now)
            expired += 1
    return expired
