"""Tenant-scoped reads. Another tenant's id answers exactly like a missing one."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Exists, OuterRef, Q

from punchcard.domain.errors import InvalidInput, NotFound

from .models import Centre, Patient, Service, StaffMember, Tenant, TestClock


def scoped_get(model: type[models.Model], *, tenant: Tenant, pk, field: str | None = None, queryset=None):
    """The tenant's object with this id, or NotFound naming the field. Refuses non-integer ids."""
    label = model._meta.verbose_name
    pk = checked_pk(model, pk, field)
    qs = queryset if queryset is not None else model.objects.all()
    try:
        return qs.get(tenant=tenant, pk=pk)
    except model.DoesNotExist:
        raise NotFound(f"no {label} {pk}", field=field) from None


def checked_pk(model: type[models.Model], pk, field: str | None = None) -> int:
    """An id as `scoped_get` takes it: an integer (InvalidInput otherwise), in range (NotFound otherwise)."""
    label = model._meta.verbose_name
    if isinstance(pk, bool) or not isinstance(pk, int):
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise InvalidInput(f"{field or label} must be an integer id", field=field) from None
    if pk <= 0 or pk > 2**63 - 1:
        raise NotFound(f"no {label} {pk}", field=field)
    return pk


def centres(tenant: Tenant) -> list[Centre]:
    return list(Centre.objects.filter(tenant=tenant).order_by("name", "id"))


def centre(tenant: Tenant, pk, field: str = "centre_id") -> Centre:
    return scoped_get(Centre, tenant=tenant, pk=pk, field=field)


def patient(tenant: Tenant, pk, field: str = "patient_id") -> Patient:
    return scoped_get(Patient, tenant=tenant, pk=pk, field=field)


def service(tenant: Tenant, pk, field: str = "service_id") -> Service:
    return scoped_get(Service, tenant=tenant, pk=pk, field=field)


def staff_member(tenant: Tenant, pk, field: str = "staff_id") -> StaffMember:
    return scoped_get(StaffMember, tenant=tenant, pk=pk, field=field)


def local_date(instant: dt.datetime, centre: Centre) -> dt.date:
    """The calendar date at the centre for an instant (SPEC §1: 'today' is the centre's)."""
    return instant.astimezone(centre.zone).date()


def start_of_local_day(day: dt.date, centre: Centre) -> dt.datetime:
    """The instant a calendar day begins at the centre."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=centre.zone)


def patient_lookups(tenant: Tenant, text: str) -> tuple[models.QuerySet, models.QuerySet]:
    """The two searches behind search_patients: by reference, phone or email (prefixes; indexed on both
    databases), and by a name containing the text (a trigram index on PostgreSQL; SQLite scans)."""
    patients = Patient.objects.filter(tenant=tenant)
    contact = patients.filter(
        Q(external_ref__istartswith=text) | Q(phone__startswith=text) | Q(email__istartswith=text)
    )
    return contact, patients.filter(name__icontains=text)


def search_patients(tenant: Tenant, text: str, *, limit: int = 20) -> list[Patient]:
    """Patients whose reference, phone or email starts with the text (any case), or whose name contains
    it: an exact reference first, then by name. Fast at 100,000 patients (tenancy migration 0002)."""
    text = text.strip()
    if not text:
        return []
    contact, named = patient_lookups(tenant, text)
    found = {p.id: p for p in contact.order_by("name", "id")[:limit]}
    for person in named.order_by("name", "id")[:limit]:
        found.setdefault(person.id, person)
    ranked = sorted(found.values(), key=lambda p: (p.external_ref.upper() != text.upper(), p.name, p.id))
    return ranked[:limit]


def patients_by_id(tenant: Tenant, ids) -> list[Patient]:
    return list(Patient.objects.filter(tenant=tenant, pk__in=list(ids)).order_by("name", "id"))


def services(tenant: Tenant, *, active_only: bool = True) -> list[Service]:
    found = Service.objects.filter(tenant=tenant)
    if active_only:
        found = found.filter(active=True)
    return list(found.order_by("name", "id"))


def staff(tenant: Tenant, *, practitioners_only: bool = False) -> list[StaffMember]:
    found = StaffMember.objects.filter(tenant=tenant, active=True)
    if practitioners_only:
        found = found.filter(is_practitioner=True)
    return list(found.order_by("name", "id"))


# ---------------------------------------------------------------- whose time a job works on


def tenants_on_real_time() -> models.QuerySet[Tenant]:
    """Every tenant whose time is the real time: the live ones, and sandboxes that run no clock of their own."""
    return Tenant.objects.exclude(Exists(TestClock.objects.filter(tenant_id=OuterRef("pk"))))


def tenants_for_job(tenant_id: int | None = None) -> models.QuerySet[Tenant]:
    """The tenants one run of a periodic job works for. Every registered job's task takes an optional
    `tenant_id` keyword and asks this, never `Tenant.objects`:

        @task()
        def expiry_sweep(*, now: str, tenant_id: int | None = None, **_slot) -> int:
            return sum(expire(now=..., tenant=t) for t in tenants_for_job(tenant_id))

    Without `tenant_id` (the real-time tick's runs) it is every tenant on real time: a sandbox with a test
    clock is skipped, its work happens only when its clock advances. With it (an advance of that sandbox's
    clock, or work queued for one tenant) it is that tenant alone, whatever its clock. The run's `now` is
    the instant to work as of: under an advance, the step's instant on the sandbox's clock (also what
    `clock.now()` answers inside the run). A job's task runs exactly as the worker runs it, outside any
    transaction; it must be idempotent (a crashed step runs again) and each tenant's work its own
    transactions. A layer below tenancy (kernel, jobs) reaches this through `jobs.scope.tenant_ids`."""
    if tenant_id is None:
        return tenants_on_real_time().order_by("id")
    return Tenant.objects.filter(pk=tenant_id)


def centre_zones_for_job(tenant_id: int | None = None) -> list[str]:
    """The zones of the centres of the tenants a run works for (a daily job's slots fall in each zone)."""
    centres = Centre.objects.filter(tenant__in=tenants_for_job(tenant_id))
    return list(centres.values_list("timezone", flat=True).distinct())


def own_clock(tenant: Tenant) -> dt.datetime | None:
    """The sandbox tenant's own clock, or None: real time (every live tenant; a sandbox not advanced yet)."""
    if not tenant.sandbox:
        return None  # a live tenant never has a clock of its own (tenancy.testclock refuses one)
    return TestClock.objects.filter(tenant=tenant).values_list("now", flat=True).first()
