"""One row of a packages file, checked column by column into the terms a package opens with.

Each check is the product's own (domain.validation, domain.money, the catalogue's limits); a refusal names
the column and the rule, with the code the same rule has everywhere else.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from punchcard.catalogue.models import Plan, PlanVersion
from punchcard.catalogue.services import MAX_SESSIONS
from punchcard.domain import validation
from punchcard.domain.errors import DomainError, InvalidInput, NotFound
from punchcard.domain.money import check_currency, parse_major
from punchcard.tenancy.models import Centre, Service, Tenant

MAX_SOURCE_ID = 100
_COUNT = re.compile(r"^[0-9]{1,6}$")


class RowRefused(Exception):
    def __init__(self, column: str, code: str, message: str):
        super().__init__(message)
        self.column, self.code, self.message = column, code, message


@dataclass(frozen=True)
class LineTerms:
    service_codes: tuple[str, ...]  # the services the line covers (a pool when several)
    sessions: int  # granted, bonus sessions included


@dataclass
class PackageRow:
    source_id: str
    patient_ref: str
    patient_name: str
    centre: Centre
    plan: PlanVersion | None  # None: ad-hoc terms (`lines`)
    lines: tuple[LineTerms, ...]
    purchased_on: dt.date
    start_date: dt.date
    expires_on: dt.date | None
    used: tuple[int, ...]  # per line, in line order
    amount: int  # minor units


class Lookups:
    """The tenant's centres, services and plans by code, read once per run."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.centres = {c.code: c for c in Centre.objects.filter(tenant=tenant).order_by("id")}
        self.services = {s.code: s for s in Service.objects.filter(tenant=tenant)}
        self.services_by_id = {s.id: s for s in self.services.values()}
        self._plans: dict[str, PlanVersion | None] = {}

    def centre(self, code: str) -> Centre:
        if not code:
            if not self.centres:
                raise NotFound("the clinic has no centre yet", field="centre")
            return next(iter(self.centres.values()))
        if code not in self.centres:
            raise NotFound(f"no centre {code!r} (centres: {', '.join(sorted(self.centres)) or 'none'})")
        return self.centres[code]

    def service(self, code: str) -> Service:
        if code not in self.services:
            raise NotFound(f"no service with code {code!r}")
        return self.services[code]

    def plan(self, code: str) -> PlanVersion | None:
        if code not in self._plans:
            plan = Plan.objects.filter(tenant=self.tenant, code=code).first()
            version = plan.current if plan is not None else None
            if version is not None:
                version = (
                    PlanVersion.objects.prefetch_related("lines__services").select_related("plan").get(pk=version.pk)
                )
            self._plans[code] = version
        return self._plans[code]

    def terms_of(self, version: PlanVersion) -> tuple[LineTerms, ...]:
        return tuple(
            LineTerms(tuple(sorted(s.code for s in line.services.all())), line.sessions + line.bonus_sessions)
            for line in version.lines.all()
        )


def _column(name: str, fn, *args, **kwargs):
    """Run one column's check; its refusal names the column."""
    try:
        return fn(*args, **kwargs)
    except DomainError as exc:
        raise RowRefused(name, exc.code, exc.message) from None


def _date(values: dict, name: str, *, required: bool) -> dt.date | None:
    text = values.get(name, "")
    if not text:
        if required:
            raise RowRefused(name, "invalid", f"{name} is required")
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise RowRefused(name, "invalid", f"{name} {text!r} must be an ISO date (YYYY-MM-DD)")
    return _column(name, validation.date, text, name)


def _count(text: str, column: str, what: str, *, low: int) -> int:
    if not _COUNT.match(text):
        raise RowRefused(column, "invalid", f"{what} {text!r} must be a whole number")
    n = int(text)
    if not low <= n <= MAX_SESSIONS:
        raise RowRefused(column, "invalid", f"{what} must be from {low} to {MAX_SESSIONS}")
    return n


def _lines(text: str, lookups: Lookups) -> tuple[LineTerms, ...]:
    """`physio:10; doctor:2` (a pool of services: `yoga|pilates:20`)."""
    out = []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        codes, sep, sessions = item.rpartition(":")
        if not sep or not codes.strip():
            raise RowRefused("lines", "invalid", f"line {item!r} must be service code and sessions, e.g. physio:10")
        services = tuple(sorted({_column("lines", lookups.service, c.strip()).code for c in codes.split("|")}))
        out.append(LineTerms(services, _count(sessions.strip(), "lines", f"sessions of {codes.strip()}", low=1)))
    if not out:
        raise RowRefused("lines", "invalid", "lines has no line")
    if len(out) > 50:
        raise RowRefused("lines", "invalid", "a package has at most 50 lines")
    return tuple(out)


def _used(text: str, lines: tuple[LineTerms, ...], lookups: Lookups) -> tuple[int, ...]:
    """Per line in order (`4; 1`), or by service code (`physio:4`); blank: none used."""
    used = [0] * len(lines)
    items = [part.strip() for part in text.split(";") if part.strip()]
    if items and all(":" not in i for i in items):
        if len(items) != len(lines):
            raise RowRefused(
                "sessions_used", "invalid", f"sessions_used gives {len(items)} number(s) for {len(lines)} line(s)"
            )
        used = [_count(i, "sessions_used", "sessions used", low=0) for i in items]
    else:
        for item in items:
            code, sep, n = item.rpartition(":")
            index = next((k for k, line in enumerate(lines) if code.strip() in line.service_codes), None)
            if not sep or index is None:
                raise RowRefused("sessions_used", "service_not_eligible", f"no line of the package covers {code!r}")
            used[index] += _count(n.strip(), "sessions_used", f"sessions used of {code.strip()}", low=0)
    for line, n in zip(lines, used, strict=True):
        if n > line.sessions:
            raise RowRefused(
                "sessions_used",
                "import_used_exceeds_granted",
                f"{n} session(s) of {'/'.join(line.service_codes)} used, but the package grants {line.sessions}",
            )
    return tuple(used)


def parse(values: dict, lookups: Lookups, today_at) -> PackageRow:
    """The row's terms, or RowRefused for the first column that breaks a rule (in the file's column order)."""
    tenant = lookups.tenant
    if "__extra__" in values:
        raise RowRefused("", "invalid", "the row has more cells than the header has columns")
    source_id = values.get("source_id", "")
    patient_ref = _column("patient_ref", validation.text, values.get("patient_ref"), "patient_ref", max_length=100)
    patient_name = _column(
        "patient_name", validation.text, values.get("patient_name"), "patient_name", max_length=200, required=False
    )
    centre = _column("centre", lookups.centre, values.get("centre", ""))
    plan_code, lines_text = values.get("plan_code", ""), values.get("lines", "")
    plan = None
    if lines_text:
        lines = _lines(lines_text, lookups)
        named = lookups.plan(plan_code) if plan_code else None
        if named is not None and lookups.terms_of(named) == lines:
            plan = named  # the terms are the plan's own: the package is of that plan
    elif plan_code:
        plan = lookups.plan(plan_code)
        if plan is None:
            raise RowRefused("plan_code", "not_found", f"no plan with code {plan_code!r}")
        lines = lookups.terms_of(plan)
    else:
        raise RowRefused("plan_code", "invalid", "give a plan_code, or the package's own terms in lines")
    purchased_on = _date(values, "purchase_date", required=True)
    if purchased_on > today_at(centre):
        raise RowRefused("purchase_date", "invalid", f"purchase_date {purchased_on.isoformat()} is after today")
    start = _date(values, "start_date", required=False) or purchased_on
    if start < purchased_on:
        raise RowRefused(
            "start_date",
            "import_dates_out_of_order",
            f"the start date {start.isoformat()} is before the purchase date {purchased_on.isoformat()}",
        )
    expires_on = _date(values, "expiry_date", required=False)
    if expires_on is not None and expires_on < start:
        before = "purchase" if expires_on < purchased_on else "start"
        raise RowRefused(
            "expiry_date",
            "import_dates_out_of_order",
            f"the expiry date {expires_on.isoformat()} is before the {before} date "
            f"{(purchased_on if before == 'purchase' else start).isoformat()}",
        )
    used = _used(values.get("sessions_used", ""), lines, lookups)
    currency = values.get("currency", "") or tenant.currency
    _column("currency", check_currency, currency)
    if currency != tenant.currency:
        raise RowRefused(
            "currency", "currency_mismatch", f"the row is in {currency}; the clinic's books are in {tenant.currency}"
        )
    paid = values.get("amount_paid", "")
    if not paid:
        raise RowRefused("amount_paid", "invalid", "amount_paid is required")
    try:
        amount = parse_major(paid, currency)
    except InvalidInput as exc:
        raise RowRefused("amount_paid", exc.code, f"amount_paid {paid!r}: {exc.message}") from None
    return PackageRow(
        source_id=source_id,
        patient_ref=patient_ref,
        patient_name=patient_name,
        centre=centre,
        plan=plan,
        lines=lines,
        purchased_on=purchased_on,
        start_date=start,
        expires_on=expires_on,
        used=used,
        amount=amount,
    )


def describe(lines: tuple[LineTerms, ...], lookups: Lookups) -> str:
    """'10 × Physiotherapy + 2 × Doctor consultation' — an ad-hoc plan's name."""
    return " + ".join(
        f"{line.sessions} × {' / '.join(lookups.service(c).name for c in line.service_codes)}" for line in lines
    )
