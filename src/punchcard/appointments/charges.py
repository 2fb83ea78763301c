"""Money an appointment causes besides the package: co-pays, no-show fees and commission (SPEC §5).

Called from inside the appointment services' transactions (and from the packages' events, inside
billing's and packages' transactions), never on their own.

Journal events (ledger.JournalEntry.event_type / event_id):
- ("appointment_charge", charge id): Dr receivable / Cr fee revenue, tagged with the patient.
  Reversed by ("charge_reversal", charge id).
- ("commission", credit id): Dr commission expense / Cr commission payable.
  Reversed by ("commission_reversal", credit id).

Commission rule ("never both"): a package whose sale was credited to a staff member
(Package.credited_staff) pays that member on the sale — base = the package's net price — and its
redemptions carry no commission. Otherwise each redeemed session credits the redemption's
practitioner with the session's allocated value (Redemption.value) as base. The amount is
base × the tenant's commission rate (AppointmentSettings; default 1000 = 10 %) / 10000, rounded half up.
"""

from __future__ import annotations

import datetime as dt

from punchcard.domain import posting
from punchcard.domain.money import div_round_half_up
from punchcard.domain.roles import Actor
from punchcard.events import Event
from punchcard.ledger import services as journal
from punchcard.packages.models import Package, Redemption
from punchcard.tenancy.selectors import local_date

from .models import (
    Appointment,
    AppointmentCharge,
    AppointmentSettings,
    ChargeKind,
    CommissionCredit,
    CommissionEvent,
)

DEFAULT_COMMISSION_RATE_BP = 1000
MAX_COMMISSION_RATE_BP = 10000


def commission_rate_bp(tenant) -> int:
    rate = AppointmentSettings.objects.filter(tenant=tenant).values_list("commission_rate_bp", flat=True).first()
    if rate is None or not 0 <= rate <= MAX_COMMISSION_RATE_BP:
        return DEFAULT_COMMISSION_RATE_BP
    return rate


# ---------------------------------------------------------------- charges


def charge(
    *,
    appointment: Appointment,
    kind: str,
    amount: int,
    description: str,
    actor: Actor,
    now: dt.datetime,
    day: dt.date,
    code: str = "",
    redemption: Redemption | None = None,
) -> AppointmentCharge:
    tenant = appointment.tenant
    row = AppointmentCharge.objects.create(
        tenant=tenant,
        appointment=appointment,
        patient_id=appointment.patient_id,
        kind=kind,
        code=code,
        description=description[:200],
        amount=amount,
        currency=tenant.currency,
        redemption=redemption,
        created_at=now,
        created_by=actor.label,
    )
    journal.record(
        tenant=tenant,
        kind=kind,
        event=("appointment_charge", row.id),
        at=now,
        date=day,
        centre=appointment.centre,
        patient=appointment.patient,
        memo=f"{description} (appointment {appointment.external_id})",
        postings=posting.fee_charge(amount=amount),
    )
    return row


def reverse_charge(row: AppointmentCharge, *, actor: Actor, now: dt.datetime, reason: str) -> bool:
    """Reverse a charge once (a reversing journal entry); False when it was already reversed."""
    if row.reversed_at is not None:
        return False
    row.reversed_at, row.reversed_by, row.reversal_reason = now, actor.label, reason
    row.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    journal.reverse_entries(
        tenant=row.tenant,
        event=("appointment_charge", row.id),
        kind="charge_reversal",
        memo=f"reversal of {row.description}: {reason}",
        at=now,
        date=local_date(now, row.appointment.centre),
        reversal_event=("charge_reversal", row.id),
    )
    return True


def copay_for(
    appointment: Appointment, redemption: Redemption, *, actor: Actor, now: dt.datetime
) -> AppointmentCharge | None:
    """The visit's bill on redemption: the line's patient-pays amount per session (0: paid by the package)."""
    line = redemption.line
    amount = line.patient_pays * redemption.sessions
    if amount <= 0:
        return None
    return charge(
        appointment=appointment,
        kind=ChargeKind.COPAY,
        amount=amount,
        redemption=redemption,
        description=f"Patient pays: {redemption.sessions} × {line.label}",
        actor=actor,
        now=now,
        day=redemption.day,
    )


# ---------------------------------------------------------------- commission


def _credit(
    *,
    package: Package,
    staff_id: int,
    event_type: str,
    event_id: int,
    base: int,
    day: dt.date,
    actor: Actor,
    now: dt.datetime,
    centre,
    appointment: Appointment | None = None,
) -> CommissionCredit:
    tenant = package.tenant
    rate = commission_rate_bp(tenant)
    amount = div_round_half_up(base * rate, 10000) if base > 0 else 0
    credit = CommissionCredit.objects.create(
        tenant=tenant,
        staff_id=staff_id,
        event_type=event_type,
        event_id=event_id,
        package=package,
        appointment=appointment,
        base_amount=base,
        rate_bp=rate,
        amount=amount,
        day=day,
        created_at=now,
        created_by=actor.label,
    )
    journal.record(
        tenant=tenant,
        kind="commission",
        event=("commission", credit.id),
        at=now,
        date=day,
        centre=centre,
        package=package,
        memo=f"commission on {event_type} {event_id} (staff {staff_id})",
        postings=posting.commission(amount=amount),
    )
    return credit


def commission_for_redemption(
    redemption: Redemption, *, actor: Actor, now: dt.datetime, appointment: Appointment | None = None
) -> CommissionCredit | None:
    package = redemption.package
    if package.credited_staff_id is not None or redemption.practitioner_id is None:
        return None  # paid on the sale, or nobody to credit
    return _credit(
        package=package,
        staff_id=redemption.practitioner_id,
        event_type=CommissionEvent.REDEMPTION,
        event_id=redemption.id,
        base=redemption.value,
        day=redemption.day,
        actor=actor,
        now=now,
        centre=redemption.centre,
        appointment=appointment,
    )


def commission_for_sale(package: Package, *, actor: Actor, now: dt.datetime) -> CommissionCredit | None:
    if package.credited_staff_id is None:
        return None
    if CommissionCredit.objects.filter(
        tenant_id=package.tenant_id, event_type=CommissionEvent.SALE, event_id=package.id, reversed_at__isnull=True
    ).exists():
        return None
    return _credit(
        package=package,
        staff_id=package.credited_staff_id,
        event_type=CommissionEvent.SALE,
        event_id=package.id,
        base=package.price_net,
        day=package.purchased_on,
        actor=actor,
        now=now,
        centre=package.sold_at,
    )


def reverse_commission(credit: CommissionCredit, *, actor: Actor, now: dt.datetime, reason: str) -> bool:
    if credit.reversed_at is not None:
        return False
    credit.reversed_at, credit.reversed_by, credit.reversal_reason = now, actor.label, reason
    credit.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    centre = credit.appointment.centre if credit.appointment_id else credit.package.sold_at
    journal.reverse_entries(
        tenant=credit.tenant,
        event=("commission", credit.id),
        kind="commission_reversal",
        memo=f"reversal of commission {credit.id}: {reason}",
        at=now,
        date=local_date(now, centre),
        reversal_event=("commission_reversal", credit.id),
    )
    return True


# ---------------------------------------------------------------- after a redemption, after a void


def after_redemption(appointment: Appointment, redemption: Redemption, *, actor: Actor, now: dt.datetime) -> None:
    """Billed exactly like an arrival: the co-pay charge and, when due, the practitioner's commission."""
    copay_for(appointment, redemption, actor=actor, now=now)
    commission_for_redemption(redemption, actor=actor, now=now, appointment=appointment)


def on_redemption_voided(event: Event) -> None:
    """redemption.voided, in its transaction: what hung on the redemption is reversed with it."""
    redemption, actor, now, reason = event.subject, event.actor, event.occurred_at, event.payload["reason"]
    why = f"redemption {redemption.id} voided: {reason}" if reason else f"redemption {redemption.id} voided"
    for row in AppointmentCharge.objects.filter(redemption=redemption, reversed_at__isnull=True).select_related(
        "appointment__centre", "tenant"
    ):
        reverse_charge(row, actor=actor, now=now, reason=why)
    for credit in CommissionCredit.objects.filter(
        tenant_id=redemption.tenant_id,
        event_type=CommissionEvent.REDEMPTION,
        event_id=redemption.id,
        reversed_at__isnull=True,
    ).select_related("tenant"):
        reverse_commission(credit, actor=actor, now=now, reason=why)


def on_package_sold(event: Event) -> None:
    """package.sold, in its transaction: a sale credited to a staff member earns commission now."""
    commission_for_sale(event.subject, actor=event.actor, now=event.occurred_at)
