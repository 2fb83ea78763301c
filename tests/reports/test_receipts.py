"""Receipts and invoices (SPEC §8.7): numbered without gaps, tax shown, sessions used and remaining after
the visit, the same document every time it is rendered. Checked by reading the PDF's own text."""

import io

import pytest
from pypdf import PdfReader

from punchcard.billing import receipts
from punchcard.billing import services as billing
from punchcard.billing.models import Receipt
from punchcard.claims import services as claims
from punchcard.domain.errors import NotFound
from punchcard.promotions import services as promotions

from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def clinic():
    return Clinic.open(now=local(2026, 3, 1, 10))


def _issue(clinic, kind, subject_id, **kw):
    return receipts.issue_receipt(tenant=clinic.tenant, actor=clinic.front_desk, kind=kind, subject_id=subject_id, **kw)


def test_a_visit_receipt_shows_4_of_10_used_6_remaining(clinic):
    plan = clinic.plan(
        "physio-10",
        name="Physiotherapy 10",
        price=1180000,
        tax_rate_bp=1800,
        lines=[clinic.line("physio", sessions=10)],
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
    )
    package = clinic.sell(plan)
    visits = [clinic.redeem(package, "physio", now=local(2026, 3, d, 11)) for d in (2, 3, 4, 5)]
    clinic.redeem(package, "physio", now=local(2026, 3, 6, 11))  # a later visit must not change the 4th's receipt

    fourth = _issue(clinic, "redemption", visits[3].id)
    text = pdf_text(receipts.render_pdf(fourth))
    assert "Physiotherapy: 4 of 10 used, 6 remaining" in text
    assert "Visit receipt No. 000001" in text and "valid until 2026-05-29" in text
    assert "Tax" in text and "₹0.00" in text
    html = receipts.render_html(fourth)
    assert "Physiotherapy: 4 of 10 used, 6 remaining" in html and "₹0.00" in html

    second = _issue(clinic, "redemption", visits[1].id)
    assert second.number == 2
    assert "Physiotherapy: 2 of 10 used, 8 remaining" in pdf_text(receipts.render_pdf(second))

    # Issued once; re-rendered identically, byte for byte.
    assert _issue(clinic, "redemption", visits[3].id).id == fourth.id
    assert receipts.render_pdf(Receipt.objects.get(pk=fourth.pk)) == receipts.render_pdf(fourth)
    assert receipts.render_html(Receipt.objects.get(pk=fourth.pk)) == html
    assert_reconciled(clinic.tenant)


def test_a_sale_invoice_shows_the_discount_the_tax_and_the_new_balance(clinic):
    plan = clinic.plan(
        "physio-recovery",
        name="Physiotherapy Recovery Pack",
        price=944000,
        tax_rate_bp=1800,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
    )
    promotions.create_promotion(
        tenant=clinic.tenant,
        actor=clinic.manager,
        name="Spring 10% off",
        kind="percent",
        percent_bp=1000,
        code="SPRING",
    )
    order = billing.place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.asha.id,
        centre_id=clinic.centre.id,
        items=[billing.OrderItem(plan_id=plan.plan_id)],
        promotion_code="SPRING",
    )
    billing.record_payment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=order.id,
        method="card",
        amount=order.due,
        reference="POS 17",
    )
    invoice = _issue(clinic, "sale", order.id)
    text = pdf_text(receipts.render_pdf(invoice))
    # 9,440.00 − 10 % = 8,496.00, of which 18 % GST (included) is 1,296.00.
    for expected in [
        "Tax invoice No. 000001",
        "Physiotherapy Recovery Pack",
        "Promotion: Spring 10% off",
        "discount ₹944.00",
        "Tax 18% included",
        "₹1,296.00",
        "₹8,496.00",
        "₹7,200.00",
        "Paid: ₹8,496.00 by Card (POS 17)",
        "Amount due: ₹0.00",
        "Physiotherapy: 0 of 10 used, 10 remaining",
        "Doctor consultation: 0 of 2 used, 2 remaining",
    ]:
        assert expected in text, expected
    assert invoice.facts["totals"] == {
        "discount": 94400,
        "net": 720000,
        "tax": 129600,
        "gross": 849600,
        "credit_applied": 0,
        "paid": 849600,
        "due": 0,
    }


def test_a_refund_receipt_and_gap_free_numbers_per_tenant(clinic):
    plan = clinic.plan("six", name="Six chiro", price=60000, lines=[clinic.line("chiro", sessions=6)])
    package = clinic.sell(plan)
    clinic.redeem(package, "chiro")
    clinic.redeem(package, "chiro")
    refund = billing.refund_package(
        tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="moving city"
    )
    receipt = _issue(clinic, "refund", refund.id)
    text = pdf_text(receipts.render_pdf(receipt))
    assert "Refund receipt No. 000001" in text and "₹400.00" in text  # SPEC §15 example 3
    assert "Chiropractic adjustment: 2 of 6 used, 0 remaining (4 no longer usable)" in text
    assert "Reason: moving city" in text

    with pytest.raises(NotFound):
        _issue(clinic, "refund", 999999)
    sale = _issue(clinic, "sale", package.order_line.order_id)
    assert sale.number == 2  # the refused request took no number

    other = Clinic.open(now=local(2026, 3, 1, 10))
    other_package = other.sell(other.plan("one", price=1000, lines=[other.line("yoga", sessions=1)]))
    assert _issue(other, "sale", other_package.order_line.order_id).number == 1  # numbered per tenant
    with pytest.raises(NotFound):  # another tenant's order is not found
        _issue(other, "sale", package.order_line.order_id)
    assert sorted(Receipt.objects.filter(tenant=clinic.tenant).values_list("number", flat=True)) == [1, 2]


def test_the_invoice_for_a_bulk_order_lists_its_codes_by_hint_only(clinic):
    from punchcard.tenancy import services as tenancy

    plan = clinic.plan("physio-10", name="Physiotherapy 10", price=800000, lines=[clinic.line("physio", sessions=10)])
    acme = tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="ACME", name="Acme Ltd")
    made = claims.place_claim_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        buyer_id=acme.id,
        centre_id=clinic.centre.id,
        plan_id=plan.plan_id,
        quantity=3,
    )
    billing.record_payment(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        order_id=made.order.id,
        method="bank_transfer",
        amount=made.order.due,
    )
    text = pdf_text(receipts.render_pdf(_issue(clinic, "sale", made.order.id)))
    for issued in made.codes:
        assert f"Physiotherapy 10 — bulk order claim code …{issued.code.hint}" in text
        assert issued.plaintext not in text and issued.display not in text
    assert "Customer: Acme Ltd (ACME)" in text and "₹24,000.00" in text
    assert_reconciled(clinic.tenant)
