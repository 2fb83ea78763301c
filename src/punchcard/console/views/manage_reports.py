"""Reports for the accountant and the manager (SPEC §11): every registered report with its filters, a chart
where one helps, a CSV download; the journal for a period as CSV for the accountant's books; the accounting
periods, and closing an ended one."""

from __future__ import annotations

import datetime as dt
import io

from babel.dates import format_date
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from punchcard import clock
from punchcard.catalogue import selectors as catalogue_selectors
from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.roles import Perm
from punchcard.kernel.html import style_hashes
from punchcard.ledger import exports, periods
from punchcard.packages import wording
from punchcard.reports import registry
from punchcard.reports.output import cell, to_csv
from punchcard.reports.services import run_report
from punchcard.tenancy.selectors import local_date

from ..access import desk_view
from . import manage_charts
from . import manage_forms as forms

# The filters a report's form shows besides the period, centre and plan (which every report takes).
EXTRA_FILTERS = {
    "sales": ("period", "by"),
    "usage": ("by",),
    "usage-detail": ("package",),
    "expiry": ("days", "as_of"),
    "profit": ("limit",),
}
FILTER_KEYS = ("from", "to", "centre", "plan", "period", "by", "package", "days", "as_of", "limit")


def _reports_context(desk, **more) -> dict:
    return {
        "desk": desk,
        "definitions": registry.definitions(),
        # Newest first: the month to close is at the top.
        "periods": [
            {"state": s, "name": format_date(s.month, format="MMMM yyyy", locale=desk.tenant.locale)}
            for s in reversed(periods.periods(desk.tenant))
        ],
        "can_close": desk.can(Perm.CLOSE_PERIODS),
        "errors": {},
        **more,
    }


@desk_view(Perm.READ_MONEY)
def reports(request):
    return render(request, "console/manage/reports.html", _reports_context(request.desk))


@require_POST
@desk_view(Perm.CLOSE_PERIODS)
def close_period(request):
    """Close an ended month (and every earlier open one): nothing posts into it afterwards."""
    desk = request.desk
    asked = request.POST.get("period", "")
    try:
        _, closed_now = periods.close_period(tenant=desk.tenant, actor=desk.actor, period=asked)
    except DomainError as error:
        context = _reports_context(desk, errors={"period": forms.in_clinic_words(desk.tenant, error)}, asked=asked)
        return render(request, "console/manage/reports.html", context, status=403 if error.kind == "forbidden" else 422)
    if closed_now:
        them = "it" if len(closed_now) == 1 else "them"
        messages.success(request, f"Closed {', '.join(closed_now)}: nothing more posts into {them}.")
    else:
        messages.info(request, f"{asked} was closed already; nothing changed.")
    return redirect("console:manage-reports")


def _filters(query, *, today=None) -> dict:
    """The query's filters for run_report; a period report with no period given shows the last twelve months
    (the services' own default, this month so far, is too short for a chart)."""
    given = {k: query.get(k, "").strip() for k in FILTER_KEYS}
    if today is not None and not given["from"] and not given["to"]:
        start = today.replace(day=1)
        for _ in range(11):
            start = (start - dt.timedelta(days=1)).replace(day=1)
        given["from"] = start.isoformat()
    return {
        "date_from": given["from"] or None,
        "date_to": given["to"] or None,
        "centre": given["centre"] or None,
        "plan": given["plan"] or None,
        "period": given["period"] or None,
        "by": given["by"] or None,
        "package_id": given["package"] or None,
        "days": forms.whole(given["days"], "days") if given["days"] else None,
        "as_of": given["as_of"] or None,
        "limit": forms.whole(given["limit"], "limit") if given["limit"] else None,
    }


@desk_view(Perm.READ_MONEY)
def report(request, name: str):
    desk = request.desk
    definition = registry.find(name)
    if definition is None:
        raise Http404("no such report")
    context = {
        "desk": desk,
        "definition": definition,
        "extra": EXTRA_FILTERS.get(name, ()),
        "query": {k: request.GET.get(k, "") for k in FILTER_KEYS},
        "plans": catalogue_selectors.plans(desk.tenant).order_by("code"),
        "errors": {},
    }
    try:
        today = local_date(clock.now(), desk.centre) if definition.period else None
        filters = _filters(request.GET, today=today)
        result = run_report(tenant=desk.tenant, actor=desk.actor, name=name, **filters)
        if request.GET.get("format") == "csv":
            response = HttpResponse(to_csv(result), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}-{clock.now().date().isoformat()}.csv"'
            return response
        chart = manage_charts.chart_for(name, result, tenant=desk.tenant, actor=desk.actor, filters=filters)
    except DomainError as error:
        context["errors"] = forms.refusal(desk.tenant, error)
        return render(request, "console/manage/report.html", context, status=422)
    locale = desk.tenant.locale
    columns = result.columns

    def shown(value, kind):
        if kind == "date" and isinstance(value, dt.date):
            return wording.day(desk.tenant, value)
        return cell(value, kind, result.currency, locale=locale)

    context.update(
        report=result,
        chart=chart,
        rows=[[shown(row.get(c.key), c.kind) for c in columns] for row in result.rows],
        totals=(
            [shown(result.totals.get(c.key), c.kind) for c in columns]
            if result.totals and any(c.key in result.totals for c in columns)
            else None
        ),
        numeric={c.key for c in columns if c.kind in ("int", "money", "bp", "days")},
        csv_query=request.GET.urlencode(),
        # The form shows the period the report ran for (by default this month up to today).
        query={
            **context["query"],
            "from": context["query"]["from"] or result.filters.get("date_from", ""),
            "to": context["query"]["to"] or result.filters.get("date_to", ""),
        },
    )
    response = render(request, "console/manage/report.html", context)
    if chart is not None:
        # The policy allows no inline style; the chart's own stylesheet is allowed by its hash alone.
        response._csp_update = {"style-src": style_hashes(chart, in_svg=True)}
    return response


@desk_view(Perm.READ_MONEY)
def journal(request):
    """The journal export: a form for the period, and the CSV (one row per posting) it downloads."""
    desk = request.desk
    today = local_date(clock.now(), desk.centre)
    context = {
        "desk": desk,
        "errors": {},
        "query": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
    }
    if "from" not in request.GET:
        context["query"] = {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}
        return render(request, "console/manage/journal.html", context)
    try:
        date_from = forms.day(request.GET.get("from"), "from") or today.replace(day=1)
        date_to = forms.day(request.GET.get("to"), "to") or today
        if date_from > date_to:
            raise InvalidInput("the period ends before it starts", field="to")
    except DomainError as error:
        context["errors"] = forms.refusal(desk.tenant, error)
        return render(request, "console/manage/journal.html", context, status=422)
    out = io.StringIO()
    exports.export_csv(desk.tenant, date_from, date_to, out)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="journal-{date_from.isoformat()}-{date_to.isoformat()}.csv"'
    )
    return response
