"""HTTP routes for accounting periods: list them (read_money) and close one (accountant or admin)."""

import datetime as dt

from ninja import Path, Router, Schema
from pydantic import Field

from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.problems import errors

from . import periods

router = Router(tags=["accounting periods"])


class PeriodOut(Schema):
    period: str = Field(description="YYYY-MM: a calendar month in the tenant's zone")
    starts: dt.date
    ends: dt.date
    status: str = Field(description="open | closed: nothing posts into a closed period")
    ended: bool = Field(description="its last day is past, so it may be closed")
    closed_at: dt.datetime | None
    closed_by: str | None

    @classmethod
    def of(cls, state: periods.PeriodState) -> "PeriodOut":
        row = state.closed
        return cls(
            period=state.label,
            starts=state.month,
            ends=periods.last_day(state.month),
            status=state.status,
            ended=state.ended,
            closed_at=row.closed_at if row else None,
            closed_by=row.closed_by if row else None,
        )


class PeriodsOut(Schema):
    items: list[PeriodOut] = Field(description="from the tenant's first month to the current one, oldest first")
    closed_through: dt.date | None = Field(description="the last day of the latest closed period")
    first_open_day: dt.date | None = Field(description="where an entry for a closed period is posted instead")


class CloseOut(Schema):
    period: PeriodOut
    closed_now: list[str] = Field(
        description="the periods this request closed (earlier open ones close with it); empty when it was closed"
    )


@router.get("/accounting-periods", response={200: PeriodsOut, **errors(401, 403)}, summary="Accounting periods")
def list_periods(request):
    p = caller(request, Perm.READ_MONEY)
    through = periods.closed_through(p.tenant)
    return PeriodsOut(
        items=[PeriodOut.of(s) for s in periods.periods(p.tenant)],
        closed_through=through,
        first_open_day=through + dt.timedelta(days=1) if through else None,
    )


@router.post(
    "/accounting-periods/{period}/close",
    response={200: CloseOut, **errors(401, 403, 404, 409, 422)},
    summary="Close an accounting period",
)
def close_period(request, period: str = Path(..., pattern=periods.PERIOD_PATTERN, description="YYYY-MM")):
    """Close a month that has ended (and every earlier open one): nothing posts into it afterwards; a late
    entry is dated on the first day of the first open period and names the day it belongs to. Idempotent."""
    p = caller(request)
    row, closed_now = periods.close_period(tenant=p.tenant, actor=p.actor, period=period)
    state = next(s for s in periods.periods(p.tenant) if s.month == row.month)
    return CloseOut(period=PeriodOut.of(state), closed_now=closed_now)
