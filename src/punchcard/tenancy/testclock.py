"""A sandbox tenant's test clock (SPEC §10.4): its own time, moved forward by an integrator, with every job
that falls due on the way run for that tenant, in time order, as of its own slot.

How an advance steps. The steps are the instants at which a daily job falls due for the tenant (each job's
`schedule.between`, in each of the tenant's centres' zones, day by day), and finally `to`. At each step,
`clock.now()` is the step's instant (`clock.tenant_time`) and the jobs due then run in name order, each
task called directly, in-process, with the slot's arguments and `tenant_id` (not through the worker
queue); then the catch-up jobs (every-N-minutes: outbox delivery, the idempotency purge) run once, so the
webhooks of what the step's jobs recorded go out as of the same step (email is queued per event and sent
by the worker, as always). Then the clock is set to the step. A year is
two steps a day for a clinic in one zone (00:05 there, 00:05 UTC), not 525,600 minutes.

Safe to interrupt, one advance at a time. The jobs run as the worker runs them (outside any transaction,
each its own transactions; they are idempotent), and the clock moves only after a step's jobs are done:
a crash leaves it at the last completed step, and advancing again runs the unfinished step again and
carries on. Advances of one tenant are serialised by a lease on its `TestClock` row (taken and renewed
under FOR NO KEY UPDATE, in real time so a crashed advance frees the clock by itself); a second advance
waits for the first and then goes on from where it left the clock, so each slot runs once. `budget`
bounds the real time one call may take (the API's, so a request ends in time): it stops at a step,
`done` false, and the next call continues. Call it outside any transaction, as the worker runs jobs.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field

from django.db import transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import Conflict, InvalidInput
from punchcard.domain.roles import Actor, Perm
from punchcard.jobs import registry

from .models import Tenant, TestClock
from .services import audit

MAX_SPAN = dt.timedelta(days=5 * 365 + 2)  # five years, leap days included
LEASE = dt.timedelta(seconds=60)  # real time; renewed as it runs, so only a dead advance lets it lapse
RENEW = LEASE / 2  # renewed when half of it is gone (and at every step)
WAIT = 10.0  # seconds a second advance waits for the first before it is refused
POLL = 0.1


@dataclass(frozen=True)
class Run:
    """One job run of an advance: the job, its slot, the instant it ran as of, and what it counted."""

    job: str
    slot: str
    at: dt.datetime
    count: int


@dataclass
class Advance:
    tenant: Tenant
    start: dt.datetime  # the clock before
    now: dt.datetime  # the clock after
    to: dt.datetime
    steps: int = 0
    ran: list[Run] = field(default_factory=list)
    lease_until: dt.datetime = field(default_factory=clock.wall, repr=False)

    @property
    def done(self) -> bool:
        return self.now >= self.to


def live_refusal(tenant: Tenant) -> Conflict:
    return Conflict(
        f"{tenant.slug} is a live tenant: its time is the real time; only a sandbox tenant has a test clock",
        code="test_clock_live_tenant",
    )


def start_clock(*, tenant: Tenant, now: dt.datetime | None = None) -> TestClock:
    """The sandbox tenant's clock, started at `now` (default: the current instant) if it has none yet."""
    if not tenant.sandbox:
        raise live_refusal(tenant)
    at = now or clock.now()
    row, _ = TestClock.objects.get_or_create(tenant=tenant, defaults={"now": at, "created_at": at})
    return row


def instant_for(tenant: Tenant, value) -> dt.datetime:
    """`to` as an instant: a date-time (without an offset: in the tenant's zone), or a date, meaning noon
    that day in the tenant's zone (as the commands' `--as-of` reads a date)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"to {value!r} is not an ISO date or date-time with an offset (e.g. 2027-03-01)", field="to"
            ) from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12), tzinfo=tenant.zone)
    elif isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=tenant.zone)  # a command's local time: the tenant's
    return validation.instant(value, "to").astimezone(dt.UTC)


def advance_test_clock(*, tenant: Tenant, to, actor: Actor, budget: float | None = None, wait: float = WAIT) -> Advance:
    """Move the sandbox's clock forward to `to`, running every job that falls due on the way (see the
    module). Refused for a live tenant, for `to` before the clock, and for more than five years at once."""
    actor.require(Perm.ADVANCE_TEST_CLOCK)
    if not tenant.sandbox:
        raise live_refusal(tenant)
    to = instant_for(tenant, to)
    if clock.is_frozen():
        raise RuntimeError("the clock is frozen (set_now / --as-of): a test clock cannot advance under a freeze")
    row = start_clock(tenant=tenant)
    token, leased_until = _take_lease(row.pk, wait=wait)
    try:
        start = TestClock.objects.values_list("now", flat=True).get(pk=row.pk)
        if to < start:
            raise InvalidInput(
                f"to {to.isoformat()} is before the sandbox's clock ({start.isoformat()}): it only moves forward",
                code="test_clock_backwards",
                field="to",
                clock=start.isoformat(),
            )
        if to - start > MAX_SPAN:
            raise InvalidInput(
                f"one advance moves the clock at most 5 years (from {start.isoformat()})",
                code="test_clock_span_too_long",
                field="to",
                clock=start.isoformat(),
            )
        result = Advance(tenant=tenant, start=start, now=start, to=to, lease_until=leased_until)
        deadline = None if budget is None else time.monotonic() + budget
        jobs = [job for job in registry.jobs() if job.per_tenant]
        catch_up = [job for job in jobs if job.schedule.catch_up]
        for step, due in _plan(jobs, tenant, start, to):
            if deadline is not None and result.steps and time.monotonic() > deadline:
                break  # `done` is false: the caller advances again to carry on
            _run_step(due, catch_up, tenant, result, step, row_id=row.pk, token=token)
        if result.now > start:
            with transaction.atomic():
                audit(
                    tenant=tenant,
                    actor=actor,
                    action="test_clock.advance",
                    subject=row,
                    now=result.now,
                    data={"from": start.isoformat(), "to": result.now.isoformat(), "steps": result.steps},
                )
        return result
    finally:
        _release(row.pk, token)


def _plan(jobs, tenant: Tenant, start: dt.datetime, to: dt.datetime) -> list[tuple[dt.datetime, list]]:
    """The steps in time order: each instant in (start, to] at which daily jobs fall due for the tenant,
    with those jobs' slots (in job name order), and finally `to`."""
    steps: dict[dt.datetime, list] = {to: []} if to > start else {}
    for job in jobs:
        if not job.schedule.catch_up:
            for at, slot, kwargs in job.schedule.between(start, to, tenant_id=tenant.id):
                steps.setdefault(at, []).append((job, at, slot, kwargs))
    return sorted(steps.items(), key=lambda step: step[0])


def _run_step(due, catch_up, tenant: Tenant, result: Advance, step: dt.datetime, *, row_id: int, token: str):
    """The step's daily slots, then every catch-up job once, as of the step; then the clock moves to it."""
    runs = due + [
        (job, at, slot, kwargs) for job in catch_up for at, slot, kwargs in job.schedule.between(result.now, step)
    ]
    with clock.tenant_time(step):
        for job, at, slot, kwargs in runs:
            count = registry.counted(job.task.call(**kwargs, tenant_id=tenant.id))
            if clock.wall() > result.lease_until - RENEW:
                result.lease_until = _renew(row_id, token)
            if count or not job.schedule.catch_up:  # a catch-up run that found nothing is not news
                result.ran.append(Run(job=job.name, slot=slot, at=at, count=count))
    with transaction.atomic():
        row = _locked(row_id)
        _check_lease(row, token)
        row.now, row.lease_until = step, clock.wall() + LEASE
        row.save(update_fields=["now", "lease_until"])
    result.now, result.steps, result.lease_until = step, result.steps + 1, row.lease_until


def _locked(row_id: int) -> TestClock:
    return TestClock.objects.select_for_update(no_key=True).get(pk=row_id)


def _take_lease(row_id: int, *, wait: float) -> tuple[str, dt.datetime]:
    """Make this advance the clock's only one, waiting up to `wait` seconds for another to finish."""
    token = uuid.uuid4().hex
    give_up = time.monotonic() + wait
    while True:
        with transaction.atomic():
            row = _locked(row_id)
            wall = clock.wall()
            if not row.lease_token or row.lease_until is None or row.lease_until <= wall:
                row.lease_token, row.lease_until = token, wall + LEASE
                row.save(update_fields=["lease_token", "lease_until"])
                return token, row.lease_until
        if time.monotonic() >= give_up:
            raise Conflict(
                "another advance of this sandbox's clock is running; advance again when it has finished",
                code="test_clock_busy",
            )
        time.sleep(POLL)


def _renew(row_id: int, token: str) -> dt.datetime:
    with transaction.atomic():
        row = _locked(row_id)
        _check_lease(row, token)
        row.lease_until = clock.wall() + LEASE
        row.save(update_fields=["lease_until"])
    return row.lease_until


def _check_lease(row: TestClock, token: str) -> None:
    if row.lease_token != token:
        # A job ran longer than the lease and another advance took the clock: stop, it carries on.
        raise Conflict("this advance lost the sandbox's clock to another one", code="test_clock_busy")


def _release(row_id: int, token: str) -> None:
    with transaction.atomic():
        row = _locked(row_id)
        if row.lease_token == token:
            row.lease_token, row.lease_until = "", None
            row.save(update_fields=["lease_token", "lease_until"])
