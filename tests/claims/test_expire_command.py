"""`punchcard expire` also expires unclaimed claim codes: their held value is booked as breakage, once."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from punchcard import clock
from punchcard.billing import services as billing
from punchcard.claims import services as claims
from punchcard.claims.models import ClaimStatus
from punchcard.domain.posting import Role
from punchcard.ledger.models import JournalEntry, Posting

from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    yield clinic
    clock.set_now(None)


def _expire(clinic, as_of: str) -> list[str]:
    out = StringIO()
    call_command("expire", "--as-of", as_of, "--allow-future", "--tenant", clinic.tenant.slug, stdout=out)
    return out.getvalue().splitlines()


def _breakage_on(code) -> int:
    postings = Posting.objects.filter(
        account__role=Role.BREAKAGE_REVENUE, entry__event_type="claim_code", entry__event_id=code.id
    )
    return -(postings.aggregate(s=Sum("amount"))["s"] or 0)


def test_the_sweep_books_an_expired_bulk_codes_held_value_as_breakage_once(clinic):
    plan = clinic.plan("physio-10", price=800000, tax_rate_bp=1800, lines=[clinic.line("physio", sessions=10)])
    made = claims.place_claim_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        buyer_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        plan_id=plan.plan_id,
        quantity=1,
        expires_on=local(2026, 3, 31).date(),
    )
    billing.record_payment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=made.order.id,
        method="bank_transfer",
        amount=made.order.due,
    )
    code = made.codes[0].code
    code.refresh_from_db()
    held = code.deferred_value
    assert code.status == ClaimStatus.OPEN and held > 0

    slug = clinic.tenant.slug
    assert _expire(clinic, "2026-03-31") == [
        f"Expired 0 package(s) as of 2026-03-31 for {slug}.",
        f"Expired 0 claim code(s) as of 2026-03-31 for {slug}.",  # its last day: still claimable
    ]
    assert _breakage_on(code) == 0

    assert _expire(clinic, "2026-04-01") == [
        f"Expired 0 package(s) as of 2026-04-01 for {slug}.",
        f"Expired 1 claim code(s) as of 2026-04-01 for {slug}.",
    ]
    code.refresh_from_db()
    assert (code.status, code.deferred_value) == (ClaimStatus.EXPIRED, 0)
    assert _breakage_on(code) == held
    entries = JournalEntry.objects.filter(tenant=clinic.tenant, kind="breakage")
    assert entries.count() == 1

    assert _expire(clinic, "2026-04-02")[1] == f"Expired 0 claim code(s) as of 2026-04-02 for {slug}."
    assert _breakage_on(code) == held and entries.count() == 1  # nothing booked twice
    assert_reconciled(clinic.tenant)
