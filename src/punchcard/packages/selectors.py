"""Reads of packages: balances, derived status, rules for the checks, history, usage by person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet, Sum

from punchcard import clock
from punchcard.catalogue.models import Plan
from punchcard.domain.eligibility import PackageRules, Scope, UsageCaps, Use
from punchcard.domain.expiry import ExpiryMode, usable_until
from punchcard.domain.status import CLOSED, Closure, PackageStatus, StatusView, derive_status
from punchcard.tenancy.models import Centre, Patient, Tenant
from punchcard.tenancy.selectors import local_date, scoped_get

from .models import Beneficiary, Hold, HoldState, Package, PackageLine, Redemption, SessionEntry


def get_package(tenant: Tenant, package_id, field: str = "package_id") -> Package:
    return scoped_get(
        Package,
        tenant=tenant,
        pk=package_id,
        field=field,
        queryset=Package.objects.select_related("plan_version", "sold_at", "holder"),
    )


def today_for(package: Package, now: dt.datetime | None = None) -> dt.date:
    """A package's 'today' is the date at the centre that sold it."""
    return local_date(now or clock.now(), package.sold_at)


def status_of(package: Package, lines: list[PackageLine], today: dt.date) -> StatusView:
    return derive_status(
        closure=Closure(package.closure) if package.closure else None,
        today=today,
        start=package.start_date,
        last_day=package.expires_on,
        mode=ExpiryMode(package.expiry_mode),
        grace_days=package.grace_days,
        remaining=sum(line.remaining for line in lines),
    )


def usable_until_of(package: Package) -> dt.date | None:
    return usable_until(
        last_day=package.expires_on, mode=ExpiryMode(package.expiry_mode), grace_days=package.grace_days
    )


def beneficiary_ids(package: Package) -> frozenset[int]:
    return frozenset(
        Beneficiary.objects.filter(package=package, removed_at__isnull=True).values_list("patient_id", flat=True)
    )


def rules_of(
    package: Package,
    *,
    person_id: int | None = None,
    centre_ids: frozenset[int] | None = None,
    live_beneficiaries: frozenset[int] | None = None,
) -> PackageRules:
    """The package's rules for `check_use`. `centre_ids` (a listed scope's centres) and
    `live_beneficiaries` are read here unless the caller read them already (one-statement writes)."""
    version = package.plan_version
    scope = Scope(version.scope)
    if centre_ids is None:
        centre_ids = frozenset(version.centres.values_list("id", flat=True)) if scope is Scope.LISTED else frozenset()
    if live_beneficiaries is None:
        # The holder needs no query; anyone else is looked up among the live beneficiaries.
        live_beneficiaries = frozenset() if person_id in (None, package.holder_id) else beneficiary_ids(package)
    return PackageRules(
        closure=Closure(package.closure) if package.closure else None,
        start=package.start_date,
        last_day=package.expires_on,
        mode=ExpiryMode(package.expiry_mode),
        grace_days=package.grace_days,
        scope=scope,
        sold_at_centre_id=package.sold_at_id,
        centre_ids=centre_ids,
        blackout_dates=version.blackout_set(),
        holder_id=package.holder_id,
        beneficiary_ids=live_beneficiaries,
        caps=version.caps(),
    )


def caps_window(caps: UsageCaps, day: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days whose uses the caps and minimum gap read for a use on `day`; None without caps."""
    if not any((caps.per_day, caps.per_week, caps.per_month, caps.min_gap_days)):
        return None
    span = max(31, caps.min_gap_days or 0)
    return day - dt.timedelta(days=span), day + dt.timedelta(days=span)


def uses_for_caps(package: Package, caps: UsageCaps, day: dt.date) -> list[Use]:
    """Sessions used or held near `day`, only when the plan has caps or a minimum gap."""
    window = caps_window(caps, day)
    if window is None:
        return []
    low, high = window
    # Live redemptions (walk-ins and posted holds alike: a voided arrival no longer counts) and pending holds.
    redeemed = Redemption.objects.filter(package=package, voided_at__isnull=True, day__range=(low, high))
    held = Hold.objects.filter(package=package, day__range=(low, high), state=HoldState.PENDING)
    return [Use(d, n) for d, n in redeemed.values_list("day", "sessions")] + [
        Use(d, n) for d, n in held.values_list("day", "sessions")
    ]


@dataclass(frozen=True)
class PackageSummary:
    package: Package
    lines: list[PackageLine]
    status: StatusView
    usable_until: dt.date | None

    @property
    def granted(self) -> int:
        return sum(line.granted for line in self.lines)

    @property
    def redeemed(self) -> int:
        return sum(line.redeemed for line in self.lines)

    @property
    def remaining(self) -> int:
        return sum(line.remaining for line in self.lines)

    @property
    def available(self) -> int:
        return sum(line.available for line in self.lines)

    @property
    def held(self) -> int:
        return sum(line.held for line in self.lines)

    @property
    def deferred_value(self) -> int:
        return sum(line.deferred_value for line in self.lines)


def summarize(package: Package, *, now: dt.datetime | None = None, lines=None) -> PackageSummary:
    lines = list(package.lines.all()) if lines is None else lines
    return PackageSummary(package, lines, status_of(package, lines, today_for(package, now)), usable_until_of(package))


def package_ids_of_patient(tenant: Tenant, patient_id: int, *, include_beneficiary: bool = True):
    """Ids of the packages a patient holds and, optionally, is a live beneficiary of.

    A union of two index lookups (holder; live beneficiary): an OR across the beneficiary join would make
    the database read every package of the tenant.
    """
    ids = Package.objects.filter(tenant=tenant, holder_id=patient_id).values_list("id", flat=True)
    if include_beneficiary:
        ids = ids.union(
            Beneficiary.objects.filter(tenant=tenant, patient_id=patient_id, removed_at__isnull=True).values_list(
                "package_id", flat=True
            )
        )
    return ids


def packages_of_patient(
    tenant: Tenant, patient_id: int, *, include_beneficiary: bool = True, now: dt.datetime | None = None
) -> list[PackageSummary]:
    """The patient's own packages and, optionally, those they are a live beneficiary of."""
    ids = package_ids_of_patient(tenant, patient_id, include_beneficiary=include_beneficiary)
    return summaries(list(package_rows(tenant).filter(id__in=ids).order_by("id")), now=now)


def history(package: Package) -> QuerySet[SessionEntry]:
    """The package's ledger, oldest first, with what each entry's history line names."""
    return (
        SessionEntry.objects.filter(tenant_id=package.tenant_id, package=package)
        .select_related("line", "redemption__appointment", "redemption__person", "hold__person")
        .order_by("id")
    )


def usage_by_person(package: Package) -> dict[int, int]:
    """patient id → sessions used (voids excluded), for shared packages (SPEC §7)."""
    rows = (
        Redemption.objects.filter(package=package, voided_at__isnull=True)
        .values("person_id")
        .annotate(n=Sum("sessions"))
    )
    return {row["person_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class Mismatch:
    line_id: int
    package_id: int
    column: str
    cached: int
    ledger: int


COLUMNS = ("granted", "redeemed", "held", "forfeited", "value")


def ledger_mismatches(tenant: Tenant | None = None) -> list[Mismatch]:
    """Every line whose cached balance differs from the sum of its session entries (set-based)."""
    sums = SessionEntry.objects.values("line_id").annotate(
        s_granted=Sum("granted"),
        s_redeemed=Sum("redeemed"),
        s_held=Sum("held"),
        s_forfeited=Sum("forfeited"),
        s_value=Sum("value"),
    )
    lines = PackageLine.objects.all()
    if tenant is not None:
        sums = sums.filter(tenant=tenant)
        lines = lines.filter(tenant=tenant)
    by_line = {row["line_id"]: row for row in sums}
    out = []
    for line in lines.only("id", "package_id", "granted", "redeemed", "held", "forfeited", "deferred_value"):
        row = by_line.get(line.id, {})
        for column in COLUMNS:
            cached = line.deferred_value if column == "value" else getattr(line, column)
            ledger = row.get(f"s_{column}") or 0
            if cached != ledger:
                out.append(Mismatch(line.id, line.package_id, column, cached, ledger))
    return out


# ---------------------------------------------------------------- packages as lists and pages show them


def package_rows(tenant: Tenant) -> QuerySet[Package]:
    """The tenant's packages with what a summary shows joined in and their lines prefetched."""
    return (
        Package.objects.filter(tenant=tenant)
        .select_related("plan_version__plan", "holder", "sold_at", "credited_staff", "order_line")
        .prefetch_related("lines")
    )


def package_detail(tenant: Tenant, package_id: int) -> Package:
    return scoped_get(Package, tenant=tenant, pk=package_id, field="package_id", queryset=package_rows(tenant))


def summaries(rows: list[Package], *, now: dt.datetime | None = None) -> list[PackageSummary]:
    """Summaries of prefetched packages (package_rows), all as of one instant."""
    now = now or clock.now()
    return [summarize(p, now=now, lines=sorted(p.lines.all(), key=lambda line: line.id)) for p in rows]


def filter_packages(
    tenant: Tenant, *, patient=None, status=None, centre=None, plan=None, purchased_from=None, purchased_to=None
) -> QuerySet[Package]:
    qs = package_rows(tenant)
    if patient is not None:
        qs = qs.filter(holder=scoped_get(Patient, tenant=tenant, pk=patient, field="patient"))
    if centre is not None:
        qs = qs.filter(sold_at=scoped_get(Centre, tenant=tenant, pk=centre, field="centre"))
    if plan is not None:
        qs = qs.filter(plan_version__plan=scoped_get(Plan, tenant=tenant, pk=plan, field="plan"))
    if purchased_from is not None:
        qs = qs.filter(purchased_on__gte=purchased_from)
    if purchased_to is not None:
        qs = qs.filter(purchased_on__lte=purchased_to)
    if status is not None:
        # Closures are stored, so those statuses filter exactly in SQL; open statuses depend on the
        # day and the balance and are narrowed here, then decided per row in Python.
        qs = qs.filter(closure=status.value) if status in CLOSED else qs.filter(closure__isnull=True)
    return qs


def patient_package_rows(tenant: Tenant, patient: Patient) -> QuerySet[Package]:
    """Held by the patient, or shared with them (a current beneficiary)."""
    return package_rows(tenant).filter(id__in=package_ids_of_patient(tenant, patient.id))


def status_is(status: PackageStatus):
    return lambda summary: summary.status.status == status


def redemptions(tenant: Tenant) -> QuerySet[Redemption]:
    return Redemption.objects.filter(tenant=tenant).select_related(
        "service", "centre", "person", "practitioner", "void_approver"
    )


def redemption(tenant: Tenant, redemption_id: int) -> Redemption:
    return scoped_get(Redemption, tenant=tenant, pk=redemption_id, field="redemption_id", queryset=redemptions(tenant))


def holds(tenant: Tenant) -> QuerySet[Hold]:
    return Hold.objects.filter(tenant=tenant).select_related(
        "service", "centre", "person", "practitioner", "redemption"
    )


def hold(tenant: Tenant, hold_id: int) -> Hold:
    return scoped_get(Hold, tenant=tenant, pk=hold_id, field="hold_id", queryset=holds(tenant))
