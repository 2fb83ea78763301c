"""Helpers for appointment stories: booking in the desk's words, and the balances they read."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db.models import Sum

from punchcard.appointments import services as appointments
from punchcard.ledger.models import Posting
from punchcard.packages.models import PackageLine

from ..clinic import KOLKATA

_ids = itertools.count(1001)


def at(y, m, d, hh=10, mm=0) -> dt.datetime:
    """A local time at the test clinic's centres (Asia/Kolkata)."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=KOLKATA)


def book(
    clinic,
    *,
    patient=None,
    service="physio",
    start=None,
    minutes=45,
    centre=None,
    practitioner=None,
    actor=None,
    external_id=None,
    **kw,
):
    start = start or at(2026, 3, 10)
    return appointments.book_appointment(
        tenant=clinic.tenant,
        actor=actor or clinic.front_desk,
        external_id=external_id or f"APT-{next(_ids)}",
        patient_id=(patient or clinic.asha).id,
        service_id=clinic.services[service].id,
        centre_id=(centre or clinic.centre).id,
        start=start,
        end=start + dt.timedelta(minutes=minutes),
        practitioner_id=practitioner.id if practitioner else None,
        **kw,
    )


def lines(package) -> list[PackageLine]:
    return list(PackageLine.objects.filter(package=package).order_by("id"))


def balance(package) -> tuple[int, int, int]:
    """(redeemed, held, available) over the package's lines, from the cached columns."""
    rows = lines(package)
    return (sum(r.redeemed for r in rows), sum(r.held for r in rows), sum(r.available for r in rows))


def role_total(tenant, role, **filters) -> int:
    """Sum of the tenant's postings on an account role (debits +, credits −)."""
    return Posting.objects.filter(tenant=tenant, account__role=role, **filters).aggregate(s=Sum("amount"))["s"] or 0
