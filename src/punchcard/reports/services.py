"""Running a report by name with checked parameters (SPEC §11).

The API (reports.api), the CLI (`punchcard report`) and tests all come through `run_report`, so the
three give the same figures. Reading reports needs the read_money permission. The reports themselves
are in reports.definitions, found by name in reports.registry.
"""

from __future__ import annotations

import datetime as dt

from punchcard import clock
from punchcard.catalogue.models import Plan
from punchcard.domain import validation
from punchcard.domain.errors import InvalidInput, NotFound
from punchcard.domain.roles import Actor, Perm
from punchcard.ledger import periods
from punchcard.tenancy.models import Centre, Tenant

from . import registry
from .queries import reporting_zone
from .registry import Params, Report

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
        raise NotFound(f"no {model._meta.verbose_name} {value!r}", field=field)
    return found


def _day(value, field: str) -> dt.date | None:
    """A date, its ISO text, or nothing ("" too: an empty CLI option)."""
    return validation.date(value or None, field, optional=True)


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
    definition = registry.find(name)
    if definition is None:
        raise InvalidInput(f"report must be one of {', '.join(registry.names())}", field="name")
    now = now or clock.now()
    date_from = _day(date_from, "from")
    centre_id = _id_or_code(Centre, tenant, centre, "centre")
    plan_id = _id_or_code(Plan, tenant, plan, "plan")
    today = now.astimezone(reporting_zone(tenant, centre_id)).date()
    if definition.period:
        date_to = _day(date_to, "to") or today
        date_from = date_from or date_to.replace(day=1)
        if date_from > date_to:
            raise InvalidInput("from is after to", field="from")
        if (date_to - date_from).days > MAX_SPAN_DAYS:
            raise InvalidInput("a report spans at most ten years", field="from")
    else:
        date_to = None
    params = Params(
        tenant=tenant,
        today=today,
        date_from=date_from,
        date_to=date_to,
        centre_id=centre_id,
        plan_id=plan_id,
        as_of=as_of,
        days=days,
        by=by,
        period=period,
        package_id=package_id,
        limit=limit,
    )
    report = definition.run(params)
    report.currency = tenant.currency
    closed = periods.closed_labels(tenant, date_from, date_to)
    report.extra["closed_periods"] = closed
    if closed:
        report.notes.append(
            f"Closed accounting periods: {', '.join(closed)} — their figures are final; "
            "later corrections are posted in the first open period."
        )
    return report
