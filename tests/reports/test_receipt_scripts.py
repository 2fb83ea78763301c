"""Receipt PDFs in every script (issue 11, defect 7): names in Devanagari and Arabic, the rupee sign and
Indian grouping print as the HTML receipt shows them, checked by extracting the PDF's own text."""

import io

import pytest
from pypdf import PdfReader

from punchcard.billing import receipts
from punchcard.billing import services as billing
from punchcard.tenancy import services as tenancy

from ..clinic import Clinic, local
from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db

ASHA = "आशा राव"  # Asha Rao, in Devanagari
AISHA = "عائشة الحسن"  # Aisha Al-Hassan, in Arabic
PLAN = "फिजियो पैक १०"  # a plan named in Hindi, printed in bold on the package heading


def _pdf(data: bytes) -> tuple[str, set[str]]:
    """The PDF's text, and the base names of the fonts its pages use."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    used = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            used.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return text, used


def _sale_receipt(clinic, patient, plan, now):
    package = clinic.sell(plan, patient=patient, now=now)
    return receipts.issue_receipt(
        tenant=clinic.tenant, actor=clinic.front_desk, kind="sale", subject_id=package.order_line.order_id, now=now
    )


def test_devanagari_and_arabic_names_and_the_rupee_sign_print_and_extract_back():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    now = clinic.now
    asha = tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="P-1", name=ASHA, now=now)
    aisha = tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="P-2", name=AISHA)
    plan = clinic.plan("physio-8", name=PLAN, price=800000, lines=[clinic.line("physio", sessions=8)])
    big = clinic.plan("physio-100", name="Physio 100", price=10000000, lines=[clinic.line("physio", sessions=100)])

    receipt = _sale_receipt(clinic, asha, plan, now)
    text, used = _pdf(receipts.render_pdf(receipt))
    # Before: "Customer: ??? ??? (P-1)" and "INR 8,000.00" in Latin-1 Helvetica.
    assert f"Customer: {ASHA} (P-1)" in text
    assert f"Package {receipt.facts['packages'][0]['id']}: {PLAN}, no expiry" in text
    assert "Paid: ₹8,000.00 by Cash" in text and "Total" in text
    assert "?" not in text and "INR" not in text
    # Latin, ₹ and Arabic in DejaVu Sans; Devanagari in Noto Sans Devanagari (regular and bold).
    assert used == {"DejaVuSans", "DejaVuSans-Bold", "NotoSansDevanagari-Regular", "NotoSansDevanagari-Bold"}
    # The HTML receipt formats money the same way (Babel, en-IN).
    html = receipts.render_html(receipt)
    assert ASHA in html and "₹8,000.00" in html

    arabic = _sale_receipt(clinic, aisha, big, now)
    text, used = _pdf(receipts.render_pdf(arabic))
    # Drawn right to left and extracted back in logical order. (pypdf's own right-to-left reading moves the
    # neutral " (" that follows the name in front of it, so the name is checked on its own.)
    assert AISHA in text and "Customer: " in text and "P-2)" in text
    assert "Paid: ₹1,00,000.00 by Cash" in text  # Indian grouping, as Babel formats it for en-IN
    assert used == {"DejaVuSans", "DejaVuSans-Bold"}  # a font is embedded only when a string needs it

    # Still deterministic: the same receipt renders to the same bytes.
    assert receipts.render_pdf(receipt) == receipts.render_pdf(receipt)
    assert_reconciled(clinic.tenant)


def test_a_refund_receipt_in_devanagari_shows_the_name_and_amounts():
    clinic = Clinic.open(now=local(2026, 3, 1, 10))
    asha = tenancy.create_patient(tenant=clinic.tenant, actor=clinic.front_desk, external_ref="P-1", name=ASHA)
    plan = clinic.plan("six", name="Six chiro", price=60000, lines=[clinic.line("chiro", sessions=6)])
    package = clinic.sell(plan, patient=asha)
    clinic.redeem(package, "chiro", person=asha)
    clinic.redeem(package, "chiro", person=asha)
    refund = billing.refund_package(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="मुंबई")
    receipt = receipts.issue_receipt(tenant=clinic.tenant, actor=clinic.manager, kind="refund", subject_id=refund.id)
    text, _ = _pdf(receipts.render_pdf(receipt))
    assert f"Customer: {ASHA} (P-1)" in text and "Reason: मुंबई" in text
    assert "₹400.00" in text  # 600 for 6 sessions, 2 used
    assert_reconciled(clinic.tenant)
