"""A membership over a moving clock (SPEC §10.2, §10.3): random sequences of advancing the days, a card that
goes through, is declined, or is declined once, desk payments, pauses, resumes, plan changes (a frequency
change now or at the period end), cancellations (now, with or without a refund, or at the period end) and
withdrawals, each refusal a domain error with a stable code. After every step:

- reconcile finds nothing for the clinic (invoiced = paid + owed + written off; net = recognised + deferred
  + credited back, per invoice, against the journal);
- every status change the audit trail recorded is one the status table allows;
- no period's invoice is issued inside a pause, and a period is billed once (its row is unique);
- the periods follow each other without a gap or an overlap; invoice numbers run 1…n;
- a cancelled or ended membership has no next billing date.

Each example runs inside a savepoint that is rolled back, so examples never see each other's data.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from punchcard import clock
from punchcard.domain.errors import DomainError
from punchcard.domain.membership_status import ALLOWED, FINAL, MembershipStatus
from punchcard.memberships import services
from punchcard.memberships.models import Invoice, Membership, MembershipPause, MembershipPeriod, PeriodKind
from punchcard.tenancy.models import AuditEvent

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, membership_plan, subscribe

POLICIES = {
    "cancellation": "immediate",
    "notice_days": 3,
    "minimum_commitment_periods": 1,
    "pause": {"allowed": True, "min_months": 1, "max_months": 2, "per_year": 2, "fee": 10000},
}


class MembershipMachine(RuleBasedStateMachine):
    provider = None  # the test's stand-in, set before the run

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint._from_testcase = True  # the test's own wrapping transaction: providers may be called
        self._savepoint.__enter__()
        self.clinic = Clinic.open(now=local(2026, 1, 31, 10))
        plan = membership_plan(
            self.clinic, "gold", monthly=310000, quarterly=900000, tax_rate_bp=1800, policies=POLICIES
        )
        self.card = self.provider.method("tok_ok", clinic=self.clinic)
        self.member = subscribe(self.clinic, plan, method=self.card)
        self.today = dt.date(2026, 1, 31)
        day_run(self.today, hour=12)

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)
        clock.set_now(None)

    def _now(self):
        return local(self.today.year, self.today.month, self.today.day, 15)

    def _try(self, call):
        try:
            call()
        except DomainError as refused:
            assert refused.code, refused  # a refusal always has its stable code

    @rule(days=st.integers(min_value=1, max_value=40))
    def advance(self, days):
        self.today += dt.timedelta(days=days)
        day_run(self.today)

    @rule(token=st.sampled_from(["tok_ok", "tok_declined", "tok_fail_then_ok", "tok_insufficient_funds"]))
    def card_answers(self, token):
        self.provider.tokens[self.card] = token
        self.provider._seen[self.card] = 0

    @rule()
    def desk_pays_what_is_open(self):
        for invoice in Invoice.objects.filter(membership=self.member, status__in=["open", "uncollectible"]):
            self._try(
                lambda invoice=invoice: services.pay_invoice(
                    tenant=self.clinic.tenant,
                    actor=self.clinic.front_desk,
                    invoice_id=invoice.id,
                    method="cash",
                    amount=invoice.collectable,
                    now=self._now(),
                )
            )

    @rule(months=st.integers(min_value=1, max_value=3))
    def pause(self, months):
        self._try(
            lambda: services.pause(
                tenant=self.clinic.tenant,
                actor=self.clinic.front_desk,
                membership_id=self.member.id,
                months=months,
                now=self._now(),
            )
        )

    @rule()
    def resume(self):
        self._try(
            lambda: services.resume(
                tenant=self.clinic.tenant, actor=self.clinic.front_desk, membership_id=self.member.id, now=self._now()
            )
        )

    @rule(when=st.sampled_from(["now", "period_end", None]), refund=st.booleans())
    def cancel(self, when, refund):
        self._try(
            lambda: services.cancel(
                tenant=self.clinic.tenant,
                actor=self.clinic.manager,
                membership_id=self.member.id,
                when=when,
                refund_unused=refund and when != "period_end",
                now=self._now(),
            )
        )

    @rule(frequency=st.sampled_from(["monthly", "quarterly"]), effective=st.sampled_from(["now", "period_end", None]))
    def change_frequency(self, frequency, effective):
        self._try(
            lambda: services.change_membership(
                tenant=self.clinic.tenant,
                actor=self.clinic.front_desk,
                membership_id=self.member.id,
                plan_id=self.member.plan_id,
                frequency=frequency,
                effective=effective,
                now=self._now(),
            )
        )

    @rule()
    def keep(self):
        self._try(
            lambda: services.keep(
                tenant=self.clinic.tenant, actor=self.clinic.front_desk, membership_id=self.member.id, now=self._now()
            )
        )

    @invariant()
    def books_reconcile(self):
        assert_reconciled(self.clinic.tenant)

    @invariant()
    def every_status_change_is_allowed(self):
        changes = AuditEvent.objects.filter(tenant=self.clinic.tenant, action="membership.status")
        for data in changes.values_list("data", flat=True):
            assert MembershipStatus(data["to"]) in ALLOWED[MembershipStatus(data["from"])], data

    @invariant()
    def nothing_is_billed_while_paused(self):
        pauses = [(p.start, p.back_on) for p in MembershipPause.objects.filter(membership=self.member)]
        for issued in Invoice.objects.filter(membership=self.member, period__isnull=False).values_list(
            "issued_on", flat=True
        ):
            assert not any(start < issued < back for start, back in pauses), (issued, pauses)

    @invariant()
    def periods_follow_each_other(self):
        periods = list(MembershipPeriod.objects.filter(membership=self.member).order_by("number"))
        assert [p.number for p in periods] == list(range(1, len(periods) + 1))
        for before, after in itertools.pairwise(periods):
            # A change on a period's first day credits all of it and leaves its dates: the rest starts there too.
            replaced = after.kind == PeriodKind.CHANGE and after.start == before.start
            assert after.start == before.end or replaced, (before.start, before.end, after.start, after.kind)

    @invariant()
    def invoices_are_numbered_without_a_gap(self):
        invoices = Invoice.objects.filter(tenant=self.clinic.tenant)
        assert sorted(invoices.values_list("number", flat=True)) == list(range(1, invoices.count() + 1))

    @invariant()
    def a_finished_membership_is_never_billed_again(self):
        member = Membership.objects.get(pk=self.member.pk)
        if member.status in FINAL:
            assert member.next_billing_date is None


@pytest.mark.django_db
def test_membership_lifecycle_state_machine(provider):
    MembershipMachine.provider = provider
    run_state_machine_as_test(
        MembershipMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
