"""HTTP routes for the reports (SPEC §11): JSON by default, CSV with ?format=csv.

Mount with `api.add_router("", punchcard.reports.api.router)`. Reading reports needs read_money
(manager, accountant, admin). Money is integer minor units in JSON and exact major-unit decimals in CSV.
"""

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.problems import READ
from punchcard.kernel.schemas import Date, Id

from . import output, registry, services

router = Router(tags=["reports"])


class ReportInfo(Schema):
    name: str
    description: str


class ColumnOut(Schema):
    key: str
    label: str
    kind: str = Field(description="text | int | money (minor units) | bp (basis points, 10000 = 100 %) | date | days")


class ReportOut(Schema):
    report: str
    title: str
    currency: str
    filters: dict[str, Any]
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None
    notes: list[str]
    extra: dict[str, Any]


class ReportParams(Schema):
    date_from: Date | None = Field(None, alias="from", description="first day (default: the 1st of this month)")
    date_to: Date | None = Field(None, alias="to", description="last day (default: today)")
    centre: str | None = Field(None, max_length=64, description="centre code or id")
    plan: str | None = Field(None, max_length=64, description="plan code or id")
    as_of: Date | None = Field(None, description="expiry: the day to look from (default: today)")
    days: int | None = Field(None, ge=0, le=3650, description="expiry: days ahead (default 30)")
    by: str | None = Field(
        None, max_length=100, description="sales: plan,period,centre,staff; usage: service,centre,practitioner,plan"
    )
    period: Literal["day", "week", "month", "year"] | None = None
    package: Id | None = Field(None, description="usage-detail: the package")
    limit: int | None = Field(None, ge=1, le=100_000, description="profit: at most this many packages listed")
    format: Literal["json", "csv"] = "json"


@router.get("/reports", response={200: list[ReportInfo], **READ})
def list_reports(request):
    """The reports there are."""
    caller(request, Perm.READ_MONEY)
    return [ReportInfo(name=d.name, description=d.description) for d in registry.definitions()]


@router.get(
    "/reports/{name}",
    response={200: ReportOut, **READ},
    openapi_extra={
        "responses": {200: {"content": {"text/csv": {"schema": {"type": "string", "description": "with ?format=csv"}}}}}
    },
)
def get_report(request, name: str, params: Query[ReportParams]):
    """One report, filtered by period, centre and plan; `?format=csv` for a CSV file."""
    p = caller(request, Perm.READ_MONEY)
    report = services.run_report(
        tenant=p.tenant,
        actor=p.actor,
        name=name,
        date_from=params.date_from,
        date_to=params.date_to,
        centre=params.centre,
        plan=params.plan,
        as_of=params.as_of,
        days=params.days,
        by=params.by,
        period=params.period,
        package_id=params.package,
        limit=params.limit,
    )
    if params.format == "csv":
        response = HttpResponse(output.to_csv(report), content_type="text/csv; charset=utf-8")
        stamp = dt.date.today().isoformat() if not report.filters.get("date_to") else report.filters["date_to"]
        response["Content-Disposition"] = f'attachment; filename="{report.name}-{stamp}.csv"'
        # CSV has no room for notes: the closed accounting periods the report overlaps go in a header.
        response["Closed-Periods"] = ",".join(report.extra.get("closed_periods", [])) or "none"
        return response
    return output.to_json(report)
