"""Plan changes (SPEC §10.2): upgrades, downgrades and frequency changes, now (prorated by whole days) or at
the period end; the preview is exactly what the change produces; refusals; price changes with notice."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from punchcard import clock
from punchcard.domain.errors import DomainError
from punchcard.domain.membership_terms import PauseRules, Policies
from punchcard.domain.posting import Role
from punchcard.domain.roles import Role as StaffRole
from punchcard.ledger.models import Posting
from punchcard.memberships import selectors, services
from punchcard.memberships.models import Invoice, Membership, MembershipChange, MembershipNotice
from punchcard.notifications.models import OutboxEvent
from punchcard.tenancy.services import create_patient

from ..api.conftest import Api, api_key
from ..clinic import Clinic, local
from ..scenario import assert_reconciled
from .support import day_run, subscribe

D = dt.date
pytestmark = pytest.mark.django_db


def tiers(clinic, *, billing="now", tax_rate_bp=0, prefix=""):
    """Gold (rank 1, ₹3,000 a month or ₹30,000 a year, 2 physio a period) and Platinum (rank 2, ₹6,000 or
    ₹60,000, 4 physio) in one tier group, and Silver in another group."""
    group = services.create_tier_group(tenant=clinic.tenant, actor=clinic.manager, code=f"{prefix}care", name="Care")
    other = services.create_tier_group(tenant=clinic.tenant, actor=clinic.manager, code=f"{prefix}spa", name="Spa")

    def plan(code, rank, monthly, annual, sessions, group):
        return services.create_membership_plan(
            tenant=clinic.tenant,
            actor=clinic.manager,
            code=f"{prefix}{code}",
            tier_group_id=group.id,
            rank=rank,
            terms=services.MembershipTerms(
                name=code.title(),
                prices={"monthly": monthly, "annual": annual},
                benefits=[clinic.line("physio", sessions=sessions)],
                tax_rate_bp=tax_rate_bp,
                policies=Policies(proration_billing=billing),
            ),
        )

    return (
        plan("gold", 1, 300000, 3000000, 2, group),
        plan("platinum", 2, 600000, 6000000, 4, group),
        plan("silver", 1, 200000, 2000000, 1, other),
    )


def _change(clinic, member, plan, **kw):
    return services.change_membership(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, plan_id=plan.plan_id, **kw
    )


def _preview(clinic, member, plan, **kw):
    return services.preview_change(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, plan_id=plan.plan_id, **kw
    )


def _balance(tenant, role, patient=None) -> int:
    rows = Posting.objects.filter(tenant=tenant, account__role=role)
    if patient is not None:
        rows = rows.filter(patient=patient)
    return rows.aggregate(s=Sum("amount"))["s"] or 0


def test_an_upgrade_now_with_the_figures_by_hand(provider):
    clinic = Clinic.open(now=local(2027, 1, 1, 11))
    gold, platinum, _ = tiers(clinic)
    card = provider.method("tok_ok", clinic=clinic)
    member = subscribe(clinic, gold, method=card)
    day_run(D(2027, 1, 1), hour=12)  # January's ₹3,000 is charged
    for day in range(2, 21):
        day_run(D(2027, 1, day))
    clock_at = local(2027, 1, 20, 11)
    # 20 January, the default convention (end day excluded): January [1 Jan, 1 Feb) counts 31 days and the
    # unused part [20 Jan, 1 Feb) 12. Credit: ₹3,000 × 12/31 = ₹1,161.2903 → ₹1,161.29. Charge: ₹6,000 ×
    # 12/31 = ₹2,322.5806 → ₹2,322.58. The credit pays first: ₹1,161.29 is left to charge to the card.
    # Sessions: 4 × 12/31 = 1.55 → 1 (rounded down).
    preview = services.preview_change(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, plan_id=platinum.plan_id, now=clock_at
    )
    assert (preview.kind, preview.effective, preview.unused_days, preview.period_days) == ("upgrade", "now", 12, 31)
    assert (preview.credit.gross, preview.charge, preview.credit_applied, preview.due_now) == (
        116129,
        232258,
        116129,
        116129,
    )
    assert preview.sessions == [{"service_ids": [clinic.services["physio"].id], "sessions": 1}]
    change = _change(clinic, member, platinum, now=clock_at)
    member.refresh_from_db()
    assert (member.plan_id, member.price, member.next_billing_date) == (platinum.plan_id, 600000, D(2027, 2, 1))
    invoice = Invoice.objects.get(pk=change.invoice_id)
    assert [(x.kind, x.gross) for x in invoice.lines.all()] == [("proration", 232258)]
    assert (invoice.credit_applied, invoice.status) == (116129, "open")
    day_run(D(2027, 1, 20), hour=12)  # the worker charges the rest
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid) == ("paid", 116129)
    assert _balance(clinic.tenant, Role.PATIENT_CREDIT, clinic.asha) == 0
    for day in range(21, 32):
        day_run(D(2027, 1, day))
    day_run(D(2027, 2, 1))
    day_run(D(2027, 2, 1), hour=12)
    # Earned through 31 January: Gold's 19 days are what was not credited, ₹3,000 − ₹1,161.29 = ₹1,838.71;
    # Platinum's 12 days the whole charge, ₹2,322.58; together ₹4,161.29. February bills Platinum, ₹6,000.
    assert _balance(clinic.tenant, Role.MEMBERSHIP_REVENUE) == -(183871 + 232258)
    february = Invoice.objects.filter(membership=member).order_by("-number").first()
    assert (february.gross, february.status) == (600000, "paid")
    assert [e.payload["kind"] for e in OutboxEvent.objects.filter(type="membership.changed")] == ["upgrade"]
    assert_reconciled(clinic.tenant)


def test_an_annual_member_downgrading_at_period_end(provider):
    clinic = Clinic.open(now=local(2027, 3, 1, 11))
    gold, platinum, _ = tiers(clinic)
    card = provider.method("tok_ok", clinic=clinic)
    member = subscribe(clinic, platinum, frequency="annual", method=card)
    day_run(D(2027, 3, 1), hour=12)
    asked = local(2027, 6, 10, 11)
    # A downgrade defaults to the period end: nothing is credited or charged now; the next year, from
    # 1 March 2028, is billed at Gold's ₹30,000.
    preview = _preview(clinic, member, gold, now=asked)
    assert (preview.kind, preview.effective, preview.effective_on, preview.charge) == (
        "downgrade",
        "period_end",
        D(2028, 3, 1),
        0,
    )
    assert [(x.kind, x.gross) for x in preview.lines] == [("period_fee", 3000000)]
    change = _change(clinic, member, gold, now=asked)
    assert change.status == "scheduled"
    standing = selectors.standing(Membership.objects.get(pk=member.pk), now=asked)
    assert (standing.next_billing_date, standing.next_amount, standing.scheduled) == (D(2028, 3, 1), 3000000, change)
    with pytest.raises(DomainError) as again:
        _change(clinic, member, gold, now=asked)
    assert again.value.code == "change_already_scheduled"
    day_run(D(2028, 2, 29))
    member.refresh_from_db()
    assert (member.plan_id, member.price) == (platinum.plan_id, 6000000)  # not before its day
    day_run(D(2028, 3, 1))
    day_run(D(2028, 3, 1), hour=12)
    member.refresh_from_db()
    change.refresh_from_db()
    assert (member.plan_id, member.price, member.anchor, change.status) == (
        gold.plan_id,
        3000000,
        D(2027, 3, 1),
        "applied",
    )
    second = Invoice.objects.filter(membership=member).order_by("-number").first()
    assert [line.to_dict() for line in preview.lines] == [
        {"kind": x.kind, "description": x.description, "net": x.net, "tax": x.tax, "gross": x.gross}
        for x in second.lines.all()
    ]
    assert (second.period.start, second.period.end, second.status) == (D(2028, 3, 1), D(2029, 3, 1), "paid")
    # The whole Platinum year (1 March 2027 to 29 February 2028, 366 days: a leap year) is earned by the run
    # on 1 March 2028, which recognises through the day before: ₹60,000.
    assert _balance(clinic.tenant, Role.MEMBERSHIP_REVENUE) == -6000000
    assert _balance(clinic.tenant, Role.MEMBERSHIP_DEFERRED) == -3000000
    statuses = [e.payload["status"] for e in OutboxEvent.objects.filter(type="membership.changed").order_by("id")]
    assert statuses == ["scheduled", "applied"]
    assert_reconciled(clinic.tenant)


CASES = [
    # (day of January 2027, convention, proration billing, target, frequency, effective)
    (1, "actual_end_excluded", "now", "platinum", None, "now"),  # the period's first day: all of it swaps
    (31, "actual_end_excluded", "now", "platinum", None, "now"),  # its last day: one day of 31
    (20, "actual_both_ends", "now", "platinum", None, "now"),
    (20, "thirty_day_months", "now", "platinum", None, "now"),
    (28, "thirty_day_months", "now", "gold-from-platinum", None, "now"),  # a downgrade now: credit > charge
    (15, "actual_end_excluded", "next_invoice", "platinum", None, "now"),
    (15, "actual_end_excluded", "now", "gold", "annual", "now"),  # a frequency change now: a new year today
    (15, "actual_end_excluded", "now", "platinum", "annual", "period_end"),
]


@pytest.mark.parametrize("day,convention,billing,target,frequency,effective", CASES)
def test_the_preview_is_exactly_what_the_change_produces(
    provider, day, convention, billing, target, frequency, effective
):
    clinic = Clinic.open(now=local(2027, 1, 1, 11))
    clinic.tenant.settings = {"membership_day_count": convention}
    clinic.tenant.save()
    gold, platinum, _ = tiers(clinic, billing=billing, tax_rate_bp=1800)
    card = provider.method("tok_ok", clinic=clinic)
    start, to = (
        (platinum, gold) if target == "gold-from-platinum" else (gold, {"gold": gold, "platinum": platinum}[target])
    )
    member = subscribe(clinic, start, method=card)
    day_run(D(2027, 1, 1), hour=12)
    at = local(2027, 1, day, 11)
    if day > 1:
        day_run(D(2027, 1, day))
    preview = _preview(clinic, member, to, frequency=frequency, effective=effective, now=at)
    assert preview.charge <= preview.price * 118 // 100 + 1 and (
        preview.credit is None or preview.credit.gross <= 354000
    )
    change = _change(clinic, member, to, frequency=frequency, effective=effective, now=at)
    assert change.lines == [line.to_dict() for line in preview.lines]
    assert change.sessions == preview.sessions
    assert (change.credit_net, change.credit_tax) == (
        (preview.credit.net, preview.credit.tax) if preview.credit else (0, 0)
    )
    if preview.invoiced_now:
        invoice = Invoice.objects.get(pk=change.invoice_id)
    else:
        nxt = local(2027, 2, 1, 0, 5) if effective == "now" else None
        assert change.invoice_id is None
        day_run(D(2027, 2, 1))
        invoice = Invoice.objects.filter(membership=member).order_by("-number").first()
        assert nxt is None or invoice.pk == MembershipChange.objects.get(pk=change.pk).invoice_id
    written = [
        {"kind": x.kind, "description": x.description, "net": x.net, "tax": x.tax, "gross": x.gross}
        for x in invoice.lines.all()
    ]
    expected = [line.to_dict() for line in preview.lines]
    assert written[-len(expected) :] == expected if expected else True
    if preview.invoiced_now:
        assert invoice.credit_applied == preview.credit_applied
        assert invoice.gross - invoice.credit_applied == preview.due_now
    day_run(D(2027, 2, 2))
    assert_reconciled(clinic.tenant)


def test_refusals_have_stable_codes(provider):
    clinic = Clinic.open(now=local(2027, 1, 1, 11))
    gold, platinum, silver = tiers(clinic)
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    later = subscribe(clinic, gold, patient=clinic.ravi, start_date=D(2027, 2, 1))
    desk_paid = subscribe(clinic, gold, patient=clinic.kiran)  # no stored method: its invoice is still open

    def code(m, plan, **kw):
        with pytest.raises(DomainError) as refused:
            _change(clinic, m, plan, **kw)
        return refused.value.code

    day_run(D(2027, 1, 1), hour=12)
    assert code(member, gold) == "change_nothing_to_change"
    assert code(member, silver) == "change_other_tier_group"
    assert code(later, platinum) == "membership_not_active"
    assert code(desk_paid, platinum, effective="now") == "change_invoice_unpaid"
    services.edit_membership_plan(
        tenant=clinic.tenant,
        actor=clinic.manager,
        plan_id=platinum.plan_id,
        terms=services.MembershipTerms(name="Platinum", prices={"monthly": 600000}),
    )
    assert code(member, platinum, frequency="annual") == "frequency_not_offered"
    assert MembershipChange.objects.count() == 0


def test_a_new_price_reaches_members_from_their_next_period_after_the_notice(provider):
    clinic = Clinic.open(now=local(2027, 1, 1, 11))
    gold, _, _ = tiers(clinic)
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    day_run(D(2027, 1, 1), hour=12)
    clinic_now = local(2027, 1, 10, 11)
    services.edit_membership_plan(
        tenant=clinic.tenant,
        actor=clinic.manager,
        plan_id=gold.plan_id,
        terms=services.MembershipTerms(name="Gold", prices={"monthly": 350000, "annual": 3000000}),
        now=clinic_now,
    )
    # Made on 10 January with the default 30 days of notice: the first billing date from 9 February on is
    # 1 March, so the notice is due 30 days before it, on 30 January; February is still billed at ₹3,000.
    for day in [D(2027, 1, d) for d in range(10, 32)] + [D(2027, 2, d) for d in range(1, 29)] + [D(2027, 3, 1)]:
        day_run(day)
        notices = MembershipNotice.objects.filter(membership=member, kind="price_change_notice")
        assert notices.count() == (1 if day >= D(2027, 1, 30) else 0), day
        if day == D(2027, 2, 10):  # the member sees what March will cost
            feb = selectors.standing(Membership.objects.get(pk=member.pk), now=local(2027, 2, 10, 11))
            assert (feb.next_billing_date, feb.next_amount) == (D(2027, 3, 1), 350000)
    assert notices.get().about == D(2027, 3, 1)
    event = OutboxEvent.objects.get(type="membership.price_change_notice")
    assert (event.payload["old_amount"], event.payload["new_amount"], event.payload["applies_from"]) == (
        300000,
        350000,
        "2027-03-01",
    )
    renewals = OutboxEvent.objects.filter(type="membership.renewal_upcoming").order_by("id")
    assert [(e.payload["renews_on"], e.payload["amount"]) for e in renewals] == [
        ("2027-02-01", 300000),
        ("2027-03-01", 350000),  # told on 15 February: what March will cost
    ]
    amounts = list(Invoice.objects.filter(membership=member).order_by("number").values_list("gross", flat=True))
    assert amounts == [300000, 300000, 350000]
    assert Membership.objects.get(pk=member.pk).version.number == 2
    assert_reconciled(clinic.tenant)


def test_a_tenant_sets_a_shorter_price_notice(provider):
    clinic = Clinic.open(now=local(2027, 1, 1, 11))
    clinic.tenant.settings = {"membership_price_notice_days": 10}
    clinic.tenant.save()
    gold, _, _ = tiers(clinic)
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    services.edit_membership_plan(
        tenant=clinic.tenant,
        actor=clinic.manager,
        plan_id=gold.plan_id,
        terms=services.MembershipTerms(name="Gold", prices={"monthly": 320000}),
        now=local(2027, 1, 10, 11),
    )
    # 10 January + 10 days = 20 January: the new price applies from 1 February, told on 22 January.
    day_run(D(2027, 1, 21))
    assert not MembershipNotice.objects.filter(membership=member, kind="price_change_notice").exists()
    day_run(D(2027, 1, 22))
    assert MembershipNotice.objects.get(membership=member, kind="price_change_notice").about == D(2027, 2, 1)
    day_run(D(2027, 2, 1))
    assert Invoice.objects.filter(membership=member).order_by("-number").first().gross == 320000


def test_over_http_the_desk_previews_and_changes_and_a_replay_changes_nothing(clinic, desk, provider):
    gold, platinum, _ = tiers(clinic)
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    day_run(clinic.now.date(), hour=12)
    clock_at = clinic.now.replace(hour=13)
    body = {"plan_id": platinum.plan_id}
    preview = desk.post(f"/memberships/{member.id}/change-preview", body)
    assert preview.status == 200, preview.body
    assert (preview.body["status"], preview.body["kind"], preview.body["effective"]) == ("preview", "upgrade", "now")
    # Subscribed on 1 March 2026 and changed the same day: the whole of March [1 Mar, 1 Apr) swaps.
    assert (preview.body["credit"]["gross"]["amount"], preview.body["charge"]["amount"]) == (300000, 600000)
    assert preview.body["due_now"]["amount"] == 300000 and clock_at.date() == dt.date(2026, 3, 1)
    made = desk.post(f"/memberships/{member.id}/change", body, headers={"Idempotency-Key": "up-1"})
    assert made.status == 201, made.body
    keep = ("kind", "effective", "effective_on", "credit", "lines", "charge", "credit_applied", "due_now", "sessions")
    assert {k: made.body[k] for k in keep} == {k: preview.body[k] for k in keep}
    invoice = desk.get(f"/invoices/{made.body['invoice_id']}")
    assert [line["kind"] for line in invoice.body["lines"]] == ["proration"]
    assert invoice.body["period"]["kind"] == "change"
    page = desk.get(f"/invoices/{made.body['invoice_id']}/html")
    assert page.status == 200 and "rest of the period" in page.raw.decode()
    again = desk.post(f"/memberships/{member.id}/change", body, headers={"Idempotency-Key": "up-1"})
    assert again.status == 201 and again.body["id"] == made.body["id"]
    assert MembershipChange.objects.count() == 1
    shown = desk.get(f"/memberships/{member.id}").body
    assert (shown["plan_id"], shown["price"]["amount"], shown["current_period"]["kind"]) == (
        platinum.plan_id,
        600000,
        "change",
    )
    same = desk.post(f"/memberships/{member.id}/change-preview", body)
    assert (same.status, same.body["code"]) == (409, "change_nothing_to_change")
    bad = desk.post(f"/memberships/{member.id}/change", {"plan_id": gold.plan_id, "effective": "tomorrow"})
    assert bad.status == 422


def test_an_accountant_may_neither_preview_nor_change(clinic, provider):
    gold, platinum, _ = tiers(clinic)
    member = subscribe(clinic, gold, method=provider.method("tok_ok", clinic=clinic))
    accountant = Api(api_key(clinic, StaffRole.ACCOUNTANT))
    for route in ("change-preview", "change"):
        refused = accountant.post(f"/memberships/{member.id}/{route}", {"plan_id": platinum.plan_id})
        assert (refused.status, refused.body["permission"]) == (403, "sell_membership")


def test_thirty_day_months_can_credit_days_already_earned_and_the_books_still_agree(provider):
    clinic = Clinic.open(now=local(2027, 2, 1, 11))
    clinic.tenant.settings = {"membership_day_count": "thirty_day_months"}
    clinic.tenant.save()
    gold, platinum, _ = tiers(clinic)
    member = subscribe(clinic, platinum, method=provider.method("tok_ok", clinic=clinic))
    day_run(D(2027, 2, 1), hour=12)
    for day in range(2, 28):
        day_run(D(2027, 2, day))
    # February 2027 has 28 days; through 26 February recognition earned 26/28 of ₹6,000 = ₹5,571.43. On the
    # 27th, 30-day months count [27 Feb, 1 Mar) as 30 + (1 − 27) = 4 days of 30: the credit is ₹6,000 × 4/30
    # = ₹800, more than the ₹428.57 still deferred, so ₹371.43 of earned revenue goes back with it.
    assert _balance(clinic.tenant, Role.MEMBERSHIP_REVENUE) == -557143
    change = _change(clinic, member, gold, effective="now", now=local(2027, 2, 27, 11))
    assert (change.credit_net, change.unused_days, change.period_days) == (80000, 4, 30)
    assert _balance(clinic.tenant, Role.MEMBERSHIP_REVENUE) == -(557143 - 37143)
    # The charge, ₹3,000 × 4/30 = ₹400, is paid from the ₹800 credit; ₹400 stays on the account.
    assert change.charge == 40000 and _balance(clinic.tenant, Role.PATIENT_CREDIT, clinic.asha) == -40000
    day_run(D(2027, 2, 28))
    day_run(D(2027, 3, 1))
    # March bills Gold, ₹3,000, and the ₹400 of credit pays first.
    march = Invoice.objects.filter(membership=member).order_by("-number").first()
    assert (march.gross, march.credit_applied) == (300000, 40000)
    assert_reconciled(clinic.tenant)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    day=st.integers(min_value=1, max_value=31),
    convention=st.sampled_from(["actual_end_excluded", "actual_both_ends", "thirty_day_months"]),
    upgrade=st.booleans(),
    annual=st.booleans(),
    tax_rate_bp=st.sampled_from([0, 1800]),
)
def test_any_change_now_credits_and_charges_within_the_prices_and_writes_its_preview(
    provider, hyp_clinic, day, convention, upgrade, annual, tax_rate_bp
):
    clinic, plans, n = hyp_clinic["clinic"], hyp_clinic["plans"][tax_rate_bp], next(hyp_clinic["serial"])
    clinic.tenant.settings = {"membership_day_count": convention}
    clinic.tenant.save()
    gold, platinum, _ = plans
    start, to = (gold, platinum) if upgrade else (platinum, gold)
    patient = create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref=f"H-{n}", name=f"H {n}")
    clock.set_now(local(2027, 1, 1, 11))
    member = subscribe(clinic, start, patient=patient, method=provider.method("tok_ok", clinic=clinic, patient=patient))
    services.collect(tenant=clinic.tenant, invoice_id=member.invoices.get().id)
    at = local(2027, 1, day, 11)
    frequency = "annual" if annual else None
    preview = _preview(clinic, member, to, frequency=frequency, effective="now", now=at)
    paid = member.invoices.get()
    assert preview.credit is None or 0 <= preview.credit.gross <= paid.gross
    assert 0 <= preview.charge <= sum(line.gross for line in preview.lines) <= max(preview.price * 118 // 100, 1)
    change = _change(clinic, member, to, frequency=frequency, effective="now", now=at)
    assert change.lines == [line.to_dict() for line in preview.lines] and change.sessions == preview.sessions
    credited = Invoice.objects.get(pk=paid.pk)
    assert (credited.credited_net + credited.credited_tax) == (preview.credit.gross if preview.credit else 0)
    if preview.invoiced_now and preview.lines:
        invoice = Invoice.objects.get(pk=change.invoice_id)
        written = [(x.kind, x.description, x.net, x.tax, x.gross) for x in invoice.lines.all()]
        assert written == [(x.kind, x.description, x.net, x.tax, x.gross) for x in preview.lines]
        assert invoice.credit_applied == preview.credit_applied
    assert_reconciled(clinic.tenant)


@pytest.fixture
def hyp_clinic(db):
    clinic = Clinic.open(now=local(2027, 1, 1, 11))
    plans = {
        0: tiers(clinic, billing="now"),
        1800: tiers(clinic, billing="next_invoice", tax_rate_bp=1800, prefix="taxed-"),  # 18 % tax included
    }
    return {"clinic": clinic, "plans": plans, "serial": itertools.count(1)}


def test_a_change_now_in_a_period_that_was_paused_is_refused_and_the_period_end_is_offered(provider):
    # Found in review: a pause stretches its period's end, and its days are no service days, so a day-count
    # proration of the stretched period would credit and charge the wrong share: refused, with the way out.
    clinic = Clinic.open(now=local(2027, 1, 1, 11))
    group = services.create_tier_group(tenant=clinic.tenant, actor=clinic.manager, code="club", name="Club")
    plans = [
        services.create_membership_plan(
            tenant=clinic.tenant,
            actor=clinic.manager,
            code=code,
            tier_group_id=group.id,
            rank=rank,
            terms=services.MembershipTerms(
                name=code.title(),
                prices={"monthly": price},
                policies=Policies(pause=PauseRules(allowed=True)),
            ),
        )
        for code, rank, price in (("gold", 1, 300000), ("platinum", 2, 600000))
    ]
    member = subscribe(clinic, plans[0], method=provider.method("tok_ok", clinic=clinic))
    day_run(D(2027, 1, 1), hour=12)
    services.pause(
        tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, months=1, now=local(2027, 1, 11)
    )
    services.resume(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, now=local(2027, 1, 15))
    with pytest.raises(DomainError) as refused:
        _change(clinic, member, plans[1], effective="now", now=local(2027, 1, 20))
    assert refused.value.code == "change_in_paused_period"
    scheduled = _change(clinic, member, plans[1], effective="period_end", now=local(2027, 1, 20))
    assert scheduled.status == "scheduled"
    assert_reconciled(clinic.tenant)
