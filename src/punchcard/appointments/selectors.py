"""Reads of appointments: what covers an appointment, what it costs the patient, events for review."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, Sum

from punchcard import clock
from punchcard.packages import selectors as package_selectors
from punchcard.packages.models import Hold, HoldState, Redemption
from punchcard.packages.selectors import PackageSummary
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.selectors import local_date, scoped_get

from .models import Appointment, AppointmentCharge, AppointmentEvent, AppointmentSettings, CommissionCredit

NO_SHOW_OPTIONS = ("redeem", "fee")


# What an appointment's response shows about it, loaded with it.
_SHOWN = ("centre", "service", "patient", "beneficiary", "practitioner", "package")


def get_appointment(tenant: Tenant, appointment_id, field: str = "appointment_id") -> Appointment:
    return scoped_get(
        Appointment,
        tenant=tenant,
        pk=appointment_id,
        field=field,
        queryset=Appointment.objects.select_related(*_SHOWN),
    )


def appointment_day(appointment: Appointment) -> dt.date:
    """The appointment's LOCAL date at its centre: holds and every package check use it."""
    return local_date(appointment.start, appointment.centre)


def live_hold(appointment: Appointment) -> Hold | None:
    return Hold.objects.filter(appointment=appointment, state=HoldState.PENDING).order_by("-id").first()


def live_redemption(appointment: Appointment) -> Redemption | None:
    return (
        Redemption.objects.filter(appointment=appointment, voided_at__isnull=True)
        .select_related("line", "package")
        .order_by("-id")
        .first()
    )


def live_no_show_fee(appointment: Appointment) -> AppointmentCharge | None:
    return AppointmentCharge.objects.filter(
        appointment=appointment, kind="no_show_fee", reversed_at__isnull=True
    ).first()


# ---------------------------------------------------------------- package pre-selection


def _sort_key(summary: PackageSummary):
    """Soonest expiry first (the last day it can be used, grace included), no expiry last, then oldest."""
    until = summary.usable_until
    return (until is None, until or dt.date.max, summary.package.purchased_on, summary.package.id)


def candidate_packages(
    tenant: Tenant, *, person_id: int, service_id: int, now: dt.datetime | None = None
) -> list[PackageSummary]:
    """The packages that could cover this person's appointment for this service, best first.

    The person's own packages and those they are a live beneficiary of (packages_of_patient), open
    (not completed, cancelled or upgraded), with a line covering the service. The rule of §5's
    pre-selection is the order: soonest expiry first (None expiry last), then the oldest purchase.
    Whether a candidate can really be used on the appointment's date (started, not expired, centre
    scope, blackout dates, sessions available, caps) is decided by placing the hold.
    """
    summaries = package_selectors.packages_of_patient(tenant, person_id, now=now or clock.now())
    usable = [s for s in summaries if not s.package.closure and any(service_id in line.service_ids for line in s.lines)]
    return sorted(usable, key=_sort_key)


# ---------------------------------------------------------------- the appointment as the desk sees it


@dataclass
class AppointmentView:
    """An appointment with everything its response shows, loaded: mapping it to a schema runs no query."""

    appointment: Appointment
    package_state: str  # "none", "held", "redeemed"
    hold: Hold | None
    redemption: Redemption | None
    charges: list[AppointmentCharge] = field(default_factory=list)
    commissions: list[CommissionCredit] = field(default_factory=list)

    @property
    def day(self) -> dt.date:
        return appointment_day(self.appointment)

    @property
    def amount_to_collect(self) -> int:
        """The patient's bill for this visit: live co-pays and no-show fees (0 = already paid)."""
        return sum(c.amount for c in self.charges if c.reversed_at is None)


def view(appointment: Appointment) -> AppointmentView:
    """The appointment as the desk sees it; load it with get_appointment (its related rows come with it)."""
    return views([appointment])[0]


def views(appointments: list[Appointment]) -> list[AppointmentView]:
    """Many appointments at once (a page of a list): four queries, whatever their number."""
    ids = [a.id for a in appointments]
    holds = _latest(
        Hold.objects.filter(appointment_id__in=ids, state=HoldState.PENDING).select_related(
            "service", "centre", "person", "practitioner"
        )
    )
    redemptions = _latest(
        Redemption.objects.filter(appointment_id__in=ids, voided_at__isnull=True).select_related(
            "service", "centre", "person", "practitioner", "void_approver"
        )
    )
    charges: dict[int, list[AppointmentCharge]] = {i: [] for i in ids}
    for row in AppointmentCharge.objects.filter(appointment_id__in=ids).order_by("id"):
        charges[row.appointment_id].append(row)
    commissions: dict[int, list[CommissionCredit]] = {i: [] for i in ids}
    for row in CommissionCredit.objects.filter(appointment_id__in=ids).select_related("staff").order_by("id"):
        commissions[row.appointment_id].append(row)
    result = []
    for appointment in appointments:
        for row in charges[appointment.id]:
            row.appointment = appointment
        hold, redemption = holds.get(appointment.id), redemptions.get(appointment.id)
        result.append(
            AppointmentView(
                appointment=appointment,
                package_state="redeemed" if redemption else "held" if hold else "none",
                hold=hold,
                redemption=redemption,
                charges=charges[appointment.id],
                commissions=commissions[appointment.id],
            )
        )
    return result


def _latest(rows) -> dict:
    """appointment id → its row with the highest id (as live_hold and live_redemption choose)."""
    latest = {}
    for row in rows.order_by("id"):
        latest[row.appointment_id] = row
    return latest


def appointments(
    tenant: Tenant,
    *,
    patient_id: int | None = None,
    centre_id: int | None = None,
    status: str | None = None,
    start_from: dt.datetime | None = None,
    start_to: dt.datetime | None = None,
):
    qs = Appointment.objects.filter(tenant=tenant).select_related(*_SHOWN)
    if centre_id is not None:
        qs = qs.filter(centre_id=centre_id)
    if patient_id is not None:
        qs = qs.filter(Q(patient_id=patient_id) | Q(beneficiary_id=patient_id))
    if status:
        qs = qs.filter(status=status)
    if start_from:
        qs = qs.filter(start__gte=start_from)
    if start_to:
        qs = qs.filter(start__lt=start_to)
    return qs.order_by("start", "id")


# ---------------------------------------------------------------- the patient's account


def patient_charges(tenant: Tenant, patient_id: int, *, include_reversed: bool = True):
    qs = AppointmentCharge.objects.filter(tenant=tenant, patient_id=patient_id).select_related("appointment")
    if not include_reversed:
        qs = qs.filter(reversed_at__isnull=True)
    return qs.order_by("id")


def patient_charges_total(tenant: Tenant, patient_id: int) -> int:
    """Live co-pays and no-show fees charged to the patient (collection happens in billing)."""
    return (
        AppointmentCharge.objects.filter(tenant=tenant, patient_id=patient_id, reversed_at__isnull=True).aggregate(
            s=Sum("amount")
        )["s"]
        or 0
    )


# ---------------------------------------------------------------- commission


def commission_by_staff(
    tenant: Tenant, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[int, int]:
    """staff id → live commission earned in the period (reversed credits excluded)."""
    qs = CommissionCredit.objects.filter(tenant=tenant, reversed_at__isnull=True)
    if date_from:
        qs = qs.filter(day__gte=date_from)
    if date_to:
        qs = qs.filter(day__lte=date_to)
    return {row["staff_id"]: row["s"] for row in qs.values("staff_id").annotate(s=Sum("amount"))}


# ---------------------------------------------------------------- settings and events


@dataclass(frozen=True)
class NoShowFee:
    code: str
    name: str
    amount: int


@dataclass(frozen=True)
class NoShowSettings:
    fees: list[NoShowFee]
    default_option: str  # "redeem" or "fee": what an automatic no-show event does
    default_fee_code: str | None  # which fee an automatic (or unspecified) fee choice charges

    def fee(self, code: str | None) -> NoShowFee | None:
        if code is None:
            code = self.default_fee_code
        if code is None:
            return self.fees[0] if self.fees else None
        return next((f for f in self.fees if f.code == code), None)


def no_show_settings(tenant: Tenant) -> NoShowSettings:
    row = AppointmentSettings.objects.filter(tenant=tenant).first() or AppointmentSettings(tenant=tenant)
    fees = [
        NoShowFee(f["code"], f["name"], f["amount"])
        for f in row.no_show_fees or []
        if isinstance(f, dict) and {"code", "name", "amount"} <= f.keys()
    ]
    default = row.no_show_default
    return NoShowSettings(
        fees=fees,
        default_option=default if default in NO_SHOW_OPTIONS else "redeem",
        default_fee_code=row.no_show_default_fee,
    )


def events(tenant: Tenant, *, status: str | None = None, external_id: str | None = None):
    qs = AppointmentEvent.objects.filter(tenant=tenant)
    if status:
        qs = qs.filter(status=status)
    if external_id:
        qs = qs.filter(external_id=external_id)
    return qs.order_by("-id")
