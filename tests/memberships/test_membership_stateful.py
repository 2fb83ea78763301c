"""A membership over a moving clock, driven by Hypothesis (SPEC §10.2, §10.3): patients subscribe (today or
later, with or without a trial, with cards that go through, are declined, or are declined once), days pass
with the daily run, cards are swapped, the desk pays what is open. After every step:

- every status change the audit trail records is one `domain.membership_status.ALLOWED` lists;
- a membership's periods follow each other without a gap or an overlap, one per start;
- invoice numbers run 1…n for the tenant; what an invoice says was paid is what its payments add up to;
- a membership that is not past due, suspended or ended owes nothing for a period that has begun;
- reconcile finds nothing (the journal agrees with every invoice, payment and recognition).

Each example runs in a savepoint that is rolled back.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from punchcard import clock
from punchcard.domain.invoice_status import InvoiceStatus
from punchcard.domain.membership_status import ALLOWED, MembershipStatus
from punchcard.domain.membership_terms import Trial
from punchcard.memberships import services
from punchcard.memberships.models import Invoice, InvoicePayment, Membership, MembershipPeriod
from punchcard.memberships.services import charging
from punchcard.tenancy.models import AuditEvent

from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import StandInProvider, day_run, membership_plan, subscribe

TOKENS = ["tok_ok", "tok_declined", "tok_fail_then_ok", "tok_insufficient_funds"]
OWING = {MembershipStatus.PAST_DUE, MembershipStatus.SUSPENDED, MembershipStatus.CANCELLED, MembershipStatus.ENDED}


class MembershipMachine(RuleBasedStateMachine):
    provider: StandInProvider  # set by the test, shared by the examples (keyed by method id)

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        # The example's own wrapping transaction, as a TestCase's is: the charge path may run inside it.
        transaction.get_connection().atomic_blocks[-1]._from_testcase = True
        self.clinic = Clinic.open(now=local(2026, 1, 30, 10))
        self.monthly = membership_plan(self.clinic, "gold", monthly=300000, quarterly=850000)
        self.trial = membership_plan(self.clinic, "trial", monthly=200000, trial=Trial(length=7))
        self.day = clock.now().date()
        self.members: list[int] = []
        self.patients = list(self.clinic.patients.values())

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)
        clock.set_now(None)

    # ------------------------------------------------------------ rules

    @rule(
        patient=st.integers(0, 50),
        token=st.sampled_from([*TOKENS, None]),
        plan=st.sampled_from(["monthly", "quarterly", "trial"]),
        later=st.integers(0, 3),
    )
    def subscribe(self, patient, token, plan, later):
        person = self.patients[patient % len(self.patients)]
        method = self.provider.method(token, clinic=self.clinic, patient=person) if token else None
        version = self.trial if plan == "trial" else self.monthly
        start = self.day + dt.timedelta(days=later) if later else None
        member = subscribe(
            self.clinic,
            version,
            patient=person,
            frequency="quarterly" if plan == "quarterly" else "monthly",
            start_date=start,
            method=method,
        )
        self.members.append(member.id)

    @rule(days=st.integers(1, 40))
    def days_pass(self, days):
        for _ in range(days):
            self.day += dt.timedelta(days=1)
            day_run(self.day)
        clock.set_now(local(self.day.year, self.day.month, self.day.day, 10))

    @precondition(lambda self: self.members)
    @rule(pick=st.integers(0, 50), token=st.sampled_from(TOKENS))
    def the_card_now_answers(self, pick, token):
        member = Membership.objects.get(pk=self.members[pick % len(self.members)])
        if member.payment_method_id is not None:
            self.provider.tokens[member.payment_method_id] = token
            self.provider._seen[member.payment_method_id] = 0

    @precondition(lambda self: self.members)
    @rule(pick=st.integers(0, 50))
    def the_desk_takes_what_is_open(self, pick):
        member = Membership.objects.get(pk=self.members[pick % len(self.members)])
        for invoice in member.invoices.filter(status=InvoiceStatus.OPEN).order_by("id"):
            services.pay_invoice(
                tenant=self.clinic.tenant,
                actor=self.clinic.front_desk,
                invoice_id=invoice.id,
                method="cash",
                amount=invoice.due,
            )

    # ------------------------------------------------------------ invariants

    @invariant()
    def every_status_change_is_in_the_table(self):
        changes = AuditEvent.objects.filter(tenant=self.clinic.tenant, action="membership.status")
        for data in changes.values_list("data", flat=True):
            source, target = MembershipStatus(data["from"]), MembershipStatus(data["to"])
            assert target in ALLOWED[source], (source, target)

    @invariant()
    def periods_follow_each_other(self):
        for member_id in self.members:
            periods = list(MembershipPeriod.objects.filter(membership_id=member_id).order_by("number"))
            assert [p.number for p in periods] == list(range(1, len(periods) + 1))
            for before, after in itertools.pairwise(periods):
                assert after.start == before.end, (before.start, before.end, after.start)

    @invariant()
    def invoices_are_numbered_and_paid_as_their_payments_say(self):
        invoices = Invoice.objects.filter(tenant=self.clinic.tenant)
        assert sorted(invoices.values_list("number", flat=True)) == list(range(1, invoices.count() + 1))
        paid = dict(
            InvoicePayment.objects.filter(tenant=self.clinic.tenant)
            .values("invoice_id")
            .annotate(s=Sum("amount"))
            .values_list("invoice_id", "s")
        )
        for invoice in invoices:
            assert invoice.paid == paid.get(invoice.id, 0)
            if invoice.status == InvoiceStatus.PAID:
                assert invoice.credit_applied + invoice.paid == invoice.gross

    @invariant()
    def only_a_member_in_dunning_owes(self):
        for member in Membership.objects.filter(pk__in=self.members):
            open_due = member.invoices.filter(status=InvoiceStatus.OPEN, issued_on__lt=self.day)
            if open_due.exists() and member.payment_method_id is not None:
                assert MembershipStatus(member.status) in OWING, (member.status, list(open_due.values("number")))

    @invariant()
    def the_books_reconcile(self):
        assert_reconciled(self.clinic.tenant)


@pytest.mark.django_db
def test_a_membership_over_a_moving_clock_keeps_every_invariant(monkeypatch):
    MembershipMachine.provider = StandInProvider()
    monkeypatch.setattr(charging, "provider_charge", MembershipMachine.provider.charge)
    run_state_machine_as_test(
        MembershipMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
