"""Running a report by name with checked parameters, and writing it as JSON or CSV (SPEC §11).

The API (reports.api), the CLI (`punchcard report`) and tests all come through `run_report`, so the
three give the same figures. Reading reports needs the read_money permission.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict
from decimal import Decimal

from punchcard import clock
from punchcard.catalogue.models import Plan
from punchcard.domain.errors import InvalidInput
from punchcard.domain.money import currency_exponent, format_money
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Centre, Tenant

from . import selectors
from .selectors import Report

REPORTS = {
    "sales": "Package sales: count and revenue by plan / period / centre / staff",
    "usage": "Redemptions by service / centre / practitioner",
    "usage-detail": "One package's redemptions (needs package)",
    "liability": "Deferred revenue and sessions roll-forward: opening + sold − recognised − breakage − refunded"
    " = closing",
    "expiry": "Packages expiring in the next N days with sessions left; expired with sessions left",
    "completion": "% fully used, average completion, median days to completion, expiry rate",
    "profit": "Per-package profit: revenue − delivery cost − commission",
    "commission": "Commission by staff member",
    "settlement": "What each selling centre owes each redeeming centre (SPEC §8.6)",
}
MAX_SPAN_DAYS = 3660


def _id_or_code(model, tenant: Tenant, value, field: str) -> int | None:
    """A centre or plan named by id or by code."""
    if value in (None, ""):
        return None
    if (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit()):
        found = model.objects.filter(tenant=tenant, id=int(value)).values_list("id", flat=True).first()
    elif isinstance(value, str):
        found = model.objects.filter(tenant=tenant, code=value).values_list("id", flat=True).first()
    else:
        found = None
    if found is None:
        from punchcard.domain.errors import NotFound

        raise NotFound(f"no {model._meta.verbose_name} {value!r}", field=field)
    return found


def _day(value, field: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a date (YYYY-MM-DD)", field=field) from None


def _choices(value, allowed, field: str) -> tuple[str, ...]:
    items = [v.strip() for v in (value.split(",") if isinstance(value, str) else value or []) if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise InvalidInput(f"{field} must be one or more of {', '.join(allowed)}", field=field)
    return tuple(dict.fromkeys(items))


def run_report(
    *,
    tenant: Tenant,
    actor: Actor,
    name: str,
    date_from=None,
    date_to=None,
    centre=None,
    plan=None,
    as_of=None,
    days: int | None = None,
    by=None,
    period: str | None = None,
    package_id=None,
    limit: int | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """One report with its filters. Dates default to the current month up to today (reporting zone)."""
    actor.require(Perm.READ_MONEY)
    if name not in REPORTS:
        raise InvalidInput(f"report must be one of {', '.join(REPORTS)}", field="name")
    now = now or clock.now()
    explicit_from = _day(date_from, "from")
    centre_id = _id_or_code(Centre, tenant, centre, "centre")
    plan_id = _id_or_code(Plan, tenant, plan, "plan")
    today = now.astimezone(selectors.reporting_zone(tenant, centre_id)).date()
    if name == "expiry":  # as of a day, looking ahead; `from` only bounds the expired list
        days = 30 if days is None else days
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
            raise InvalidInput("days must be a whole number from 0 to 3650", field="days")
        report = selectors.expiry(
            tenant,
            as_of=_day(as_of, "as_of") or today,
            days=days,
            centre_id=centre_id,
            plan_id=plan_id,
            date_from=explicit_from,
        )
        report.currency = tenant.currency
        return report
    date_to = _day(date_to, "to") or today
    date_from = _day(date_from, "from") or date_to.replace(day=1)
    if date_from > date_to:
        raise InvalidInput("from is after to", field="from")
    if (date_to - date_from).days > MAX_SPAN_DAYS:
        raise InvalidInput("a report spans at most ten years", field="from")
    common = dict(date_from=date_from, date_to=date_to, centre_id=centre_id, plan_id=plan_id)
    if name == "sales":
        period = period or "month"
        if period not in selectors.PERIODS:
            raise InvalidInput(f"period must be one of {', '.join(selectors.PERIODS)}", field="period")
        report = selectors.package_sales(
            tenant,
            **common,
            period=period,
            by=_choices(by, selectors.SALES_DIMENSIONS, "by") if by else ("plan", "period", "centre", "staff"),
        )
    elif name == "usage":
        report = selectors.usage(
            tenant, **common, by=_choices(by, selectors.USAGE_DIMENSIONS, "by") if by else ("service",)
        )
    elif name == "usage-detail":
        if package_id in (None, ""):
            raise InvalidInput("usage-detail needs a package", field="package")
        from punchcard.packages.selectors import get_package

        report = selectors.usage_detail(tenant, package_id=get_package(tenant, package_id, field="package").id)
    elif name == "liability":
        report = selectors.liability(tenant, **common)
    elif name == "completion":
        report = selectors.completion(tenant, **common)
    elif name == "profit":
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000):
            raise InvalidInput("limit must be a whole number from 1 to 100000", field="limit")
        report = selectors.package_profit(tenant, **common, limit=limit)
    elif name == "commission":
        report = selectors.commission(tenant, **common)
    else:
        report = selectors.centre_settlement(tenant, **common)
    report.currency = tenant.currency
    return report


# ---------------------------------------------------------------- output


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def to_json(report: Report) -> dict:
    """Amounts stay integer minor units (with the currency); dates are ISO strings."""
    return {
        "report": report.name,
        "title": report.title,
        "currency": report.currency,
        "filters": _plain(report.filters),
        "columns": [asdict(c) for c in report.columns],
        "rows": _plain(report.rows),
        "totals": _plain(report.totals),
        "notes": report.notes,
        "extra": _plain(report.extra),
    }


def major(amount: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"


def cell(value, kind: str, currency: str, *, locale: str | None = None) -> str:
    """One value as text: money in major units (or formatted for a locale), basis points as a percentage."""
    if value is None:
        return ""
    if kind == "money":
        return format_money(value, currency, locale) if locale else major(value, currency)
    if kind == "bp":
        return f"{Decimal(value) / 100:.2f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def to_csv(report: Report) -> str:
    """One row per table row; money in major units as exact decimals (the currency in its own column)."""
    out = io.StringIO()
    writer = csv.writer(out)
    money = any(c.kind == "money" for c in report.columns)
    writer.writerow([c.key for c in report.columns] + (["currency"] if money else []))
    for row in report.rows:
        writer.writerow(
            [cell(row.get(c.key), c.kind, report.currency) for c in report.columns]
            + ([report.currency] if money else [])
        )
    return out.getvalue()
