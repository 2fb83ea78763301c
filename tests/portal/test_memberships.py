"""The patient's memberships in the portal: what each period includes, the renewal date and the next amount,
the invoices; another patient's invoice is missing, exactly as one that does not exist."""

from __future__ import annotations

import re

import pytest

from punchcard.memberships.models import Invoice

pytestmark = pytest.mark.django_db


def test_asha_reads_her_gold_membership_and_opens_an_invoice(demo, visit):
    # Asha joined Gold (₹3,000 a month) 100 days before 20 May 2026, on 9 February: four periods so far,
    # 9 Feb, 9 Mar, 9 Apr and 9 May, each invoiced and paid at the desk; the next renews on 9 June.
    client = visit("asha")
    page = client.get("/portal/").content.decode()
    assert "Your memberships" in page and "Gold" in page and "Active" in page
    assert "Physiotherapy or massage: 2 each period" in page
    assert "This period: 9 May 2026 to 8 Jun 2026" in page
    assert "Renews 9 Jun 2026 · next ₹3,000.00" in page
    numbers = [int(n) for n in re.findall(r"Invoice No\. (\d+)</a>", page)]
    own = Invoice.objects.filter(patient=demo.patients["asha"]).order_by("-number")
    assert numbers == list(own.values_list("number", flat=True)) and len(numbers) == 4
    opened = client.get(f"/portal/memberships/invoices/{own[0].id}/")
    assert opened.status_code == 200 and f"{own[0].number}" in opened.content.decode()
    assert "no-store" in opened["Cache-Control"]


def test_another_patients_membership_invoice_is_missing_like_one_that_does_not_exist(demo, visit):
    client = visit("asha")
    sanjays = Invoice.objects.filter(patient=demo.patients["sanjay"]).first()
    theirs = client.get(f"/portal/memberships/invoices/{sanjays.id}/")
    nowhere = client.get("/portal/memberships/invoices/999999/")
    assert theirs.status_code == nowhere.status_code == 404
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub(b"", theirs.content) == token.sub(b"", nowhere.content)


def test_a_patient_without_a_membership_sees_no_memberships_section(demo, visit):
    assert "Your memberships" not in visit("kiran").get("/portal/").content.decode()
