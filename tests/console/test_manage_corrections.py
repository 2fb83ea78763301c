"""A manager's corrections and settings through the console's forms: each goes through its service, says
what it did, and a refusal is shown next to its field with nothing written."""

from __future__ import annotations

import pytest

from punchcard.appointments import selectors as appointment_selectors
from punchcard.appointments import services as appointments
from punchcard.domain.roles import cli_actor
from punchcard.packages.models import Beneficiary, ExpiryChange, Hold, HoldState, Package, SessionEntry, Transfer
from punchcard.promotions.models import Promotion
from punchcard.tenancy.models import StaffMember

from ..scenario import assert_reconciled

pytestmark = pytest.mark.django_db


def test_expiry_adjustment_closing_and_transfer_go_through_their_services(demo, as_staff):
    manager = as_staff("meera")
    package = demo.packages["asha-physio"]
    url = f"/manage/packages/{package.id}"
    refused = manager.post(f"{url}/expiry/", {"change": "date", "expires_on": "2001-01-01", "reason": "typo"})
    assert refused.status_code == 422 and 'id="expires-error"' in refused.content.decode()
    assert "before the start date" in refused.content.decode()
    no_reason = manager.post(f"{url}/expiry/", {"change": "clear", "reason": ""})
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.content.decode()
    assert not ExpiryChange.objects.filter(package=package).exists()
    assert manager.post(f"{url}/expiry/", {"change": "clear", "reason": "goodwill"}).status_code == 302
    assert Package.objects.get(pk=package.pk).expires_on is None

    line = package.lines.order_by("id").first()
    too_many = manager.post(f"{url}/adjust/", {"line": line.id, "delta": "-99", "reason": "typo"})
    assert too_many.status_code == 422 and "session(s) available to remove" in too_many.content.decode()
    assert manager.post(f"{url}/adjust/", {"line": line.id, "delta": "2", "reason": "goodwill"}).status_code == 302
    assert SessionEntry.objects.filter(line=line, kind="adjust", granted=2).exists()

    stranger = manager.post(f"{url}/transfer/", {"patient": "P-9999", "reason": "moving"})
    assert stranger.status_code == 422 and "No patient has the reference P-9999." in stranger.content.decode()
    fixed = manager.post(f"{url}/transfer/", {"patient": "P-1002", "reason": "gift"})
    assert fixed.status_code == 422 and "This package is not transferable." in fixed.content.decode()
    assert not Transfer.objects.filter(package=package).exists()
    family = demo.packages["rao-family"]
    # Ravi's massage today holds a session of the family pack: the desk takes the pack off it first.
    for hold in Hold.objects.filter(package=family, state=HoldState.PENDING):
        appointments.remove_package(tenant=demo.tenant, actor=cli_actor(), appointment_id=hold.appointment_id)
    moved = manager.post(f"/manage/packages/{family.id}/transfer/", {"patient": "P-1004", "reason": "gift"})
    assert moved.status_code == 302
    assert Transfer.objects.get(package=family).to_patient.external_ref == "P-1004"

    assert manager.post(f"{url}/close/", {"how": "complete", "reason": "plan ended"}).status_code == 302
    assert Package.objects.get(pk=package.pk).closure == "completed"
    again = manager.post(f"{url}/close/", {"how": "cancel", "reason": "twice"})
    assert again.status_code == 422
    assert_reconciled()


def test_the_desk_adds_and_removes_a_beneficiary_and_a_full_family_is_refused(demo, as_staff):
    desk = as_staff("dev")
    family = demo.packages["rao-family"]  # Ravi's, shared with Asha and Meena; four people at most
    url = f"/manage/packages/{family.id}/beneficiaries/"
    assert "Meena Rao" in desk.get(url).content.decode()
    live = Beneficiary.objects.filter(package=family, removed_at__isnull=True)
    assert desk.post(url, {"patient": "P-1004"}).status_code == 302
    kiran = live.get(patient__external_ref="P-1004").patient
    full = desk.post(url, {"patient": "P-1005"})
    assert full.status_code == 422 and "At most 4 people (the holder included) can share it." in full.content.decode()
    assert not live.filter(patient__external_ref="P-1005").exists()
    assert desk.post(f"{url}{kiran.id}/remove/").status_code == 302
    assert not live.filter(patient=kiran).exists()
    assert_reconciled()


def test_promotions_and_no_show_fees_are_set_with_refusals_named(demo, as_staff):
    StaffMember.objects.filter(tenant=demo.tenant, user__username="meera").update(role="admin")
    admin = as_staff("meera")
    bad = admin.post("/manage/promotions/", {"name": "Diwali", "kind": "percent", "value": "250", "code": "DIWALI"})
    assert bad.status_code == 422 and 'id="p-value-error"' in bad.content.decode()
    assert not Promotion.objects.filter(tenant=demo.tenant, code="DIWALI").exists()
    ok = admin.post("/manage/promotions/", {"name": "Diwali", "kind": "percent", "value": "10", "code": "DIWALI"})
    assert ok.status_code == 302
    promotion = Promotion.objects.get(tenant=demo.tenant, code="DIWALI")
    assert promotion.percent_bp == 1000
    assert admin.post(f"/manage/promotions/{promotion.id}/retire/").status_code == 302
    promotion.refresh_from_db()
    assert promotion.retired_at is not None

    fees = {"fee0_code": "late", "fee0_name": "Late cancellation", "fee0_amount": "500", "default_option": "redeem"}
    assert admin.post("/manage/no-show-fees/", fees).status_code == 302
    assert [(f.code, f.amount) for f in appointment_selectors.no_show_settings(demo.tenant).fees] == [("late", 50000)]
    refused = admin.post("/manage/no-show-fees/", {**fees, "fee0_amount": "0"})
    assert refused.status_code == 422
    assert [(f.code, f.amount) for f in appointment_selectors.no_show_settings(demo.tenant).fees] == [("late", 50000)]

    staff = admin.post(
        "/manage/staff/new/", {"name": "Asha K", "role": "accountant", "username": "asha.k", "password": "short"}
    )
    assert staff.status_code == 422 and "12 characters" in staff.content.decode()
    staff = admin.post(
        "/manage/staff/new/",
        {"name": "Asha K", "role": "accountant", "username": "asha.k", "password": "long-enough-pass-1"},
    )
    assert staff.status_code == 302
    assert StaffMember.objects.get(tenant=demo.tenant, name="Asha K").role == "accountant"
