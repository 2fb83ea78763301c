"""The sandbox's test clock over HTTP (SPEC §10.4): show it, advance it. A live tenant gets a 409 problem
`test_clock_live_tenant` from both."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema
from pydantic import Field

from punchcard import clock
from punchcard.domain.roles import Perm
from punchcard.kernel.auth import caller
from punchcard.kernel.problems import errors
from punchcard.kernel.schemas import Date, Input, Instant

from .selectors import own_clock
from .testclock import Advance, advance_test_clock, live_refusal

router = Router(tags=["test clock"])

BUDGET = 20.0  # seconds of work per request (under the server's timeout); `done` false: advance again


class TestClockOut(Schema):
    tenant: str = Field(description="the sandbox tenant's slug")
    now: dt.datetime = Field(description="the sandbox's time: what every request, command and job sees")
    own_clock: bool = Field(description="false: the sandbox has not been advanced yet and runs on real time")


class AdvanceIn(Input):
    to: Instant | Date = Field(
        description="the instant to move the clock to (ISO 8601 with an offset), or a date: noon that day in "
        "the tenant's zone; not before the clock, at most 5 years ahead"
    )


class RunOut(Schema):
    job: str
    slot: str = Field(description="the job's slot, e.g. Asia/Kolkata/2027-01-02 for a daily job in that zone")
    at: dt.datetime = Field(description="the instant it ran as of")
    count: int = Field(description="what it did: packages expired, events told, deliveries attempted, …")


class AdvanceOut(Schema):
    previous: dt.datetime = Field(description="the clock before this call")
    now: dt.datetime = Field(description="the clock after it")
    to: dt.datetime
    done: bool = Field(description="false: the work did not fit in one request; advance again to carry on")
    steps: int
    ran: list[RunOut] = Field(
        description="in time order: every daily job's slot, and every-N-minutes jobs where they did something"
    )

    @classmethod
    def of(cls, advance: Advance) -> AdvanceOut:
        ran = [RunOut(job=r.job, slot=r.slot, at=r.at, count=r.count) for r in advance.ran]
        return cls(
            previous=advance.start, now=advance.now, to=advance.to, done=advance.done, steps=advance.steps, ran=ran
        )


@router.get("/test-clock", response={200: TestClockOut, **errors(401, 403, 409)}, summary="The sandbox's clock")
def get_test_clock(request):
    p = caller(request, Perm.READ)
    if not p.tenant.sandbox:
        raise live_refusal(p.tenant)
    own = own_clock(p.tenant)
    return TestClockOut(tenant=p.tenant.slug, now=own or clock.now(), own_clock=own is not None)


@router.post(
    "/test-clock/advance",
    response={200: AdvanceOut, **errors(401, 403, 409, 422)},
    summary="Advance the sandbox's clock, running every job due on the way",
)
def advance(request, payload: AdvanceIn):
    """Runs, in time order and as of each one's own instant, every job that falls due for this sandbox up to
    `to` (expiries, reminders, claim-code expiry, outbox deliveries, …), then sets the clock to `to`.
    Repeating it runs nothing more; a request that runs out of time stops at a step with `done` false.
    Managers and admins."""
    p = caller(request)
    return AdvanceOut.of(advance_test_clock(tenant=p.tenant, to=payload.to, actor=p.actor, budget=BUDGET))
