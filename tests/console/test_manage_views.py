"""The manager's, accountant's and admin's console pages through Django's test client: each page answers,
each role is refused what it may not do (and nothing is written), refusals name their field."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from punchcard.billing.models import Refund
from punchcard.claims.models import ClaimCode
from punchcard.packages.models import Package, Redemption
from punchcard.tenancy.models import ApiKey

from ..scenario import assert_reconciled
from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

CONSOLE = Path(__file__).parents[2] / "src" / "punchcard" / "console"


def test_every_manager_page_answers_for_the_admin(demo, as_staff):
    from django.contrib.auth import get_user_model

    from punchcard.tenancy.models import StaffMember

    meera = StaffMember.objects.get(tenant=demo.tenant, user__username="meera")
    StaffMember.objects.filter(pk=meera.pk).update(role="admin")  # one login that sees every page
    client = as_staff("meera")
    package = demo.packages["asha-physio"]
    redemption = Redemption.objects.filter(package=package, voided_at__isnull=True).first()
    plan = package.plan_version.plan
    pages = [
        f"/manage/packages/{package.id}/",
        *(
            f"/manage/packages/{package.id}/{p}/"
            for p in ("refund", "expiry", "adjust", "close", "transfer", "beneficiaries")
        ),
        f"/manage/redemptions/{redemption.id}/void/",
        "/manage/reports/",
        "/manage/reports/journal/",
        "/manage/catalogue/",
        "/manage/catalogue/new/",
        f"/manage/catalogue/{plan.id}/",
        "/manage/promotions/",
        "/manage/claim-codes/",
        "/manage/staff/",
        "/manage/webhooks/",
        "/manage/no-show-fees/",
        *(
            f"/manage/reports/{name}/"
            for name in ("sales", "usage", "liability", "expiry", "completion", "profit", "commission", "settlement")
        ),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    assert get_user_model().objects.filter(username="meera").exists()
    assert b"<svg" in client.get("/manage/reports/liability/").content


def test_the_front_desk_sees_no_manager_action_and_its_forged_posts_are_refused(demo, as_staff):
    desk = as_staff("dev")
    package = demo.packages["asha-physio"]
    redemption = Redemption.objects.filter(package=package, voided_at__isnull=True).first()
    page = desk.get(f"/manage/packages/{package.id}/").content.decode()
    assert ">Void<" not in page and "Ask a manager to void" in page
    assert "Refund</a>" not in page and "Change expiry" not in page
    assert desk.post(f"/manage/packages/{package.id}/refund/", {"reason": "x"}).status_code == 403
    assert desk.post(f"/manage/packages/{package.id}/close/", {"how": "cancel", "reason": "x"}).status_code == 403
    assert desk.get("/manage/reports/liability/").status_code == 403
    assert desk.get("/manage/catalogue/").status_code == 403
    # The void without a manager's login, and with the desk's own login standing in as "approver".
    forged = desk.post(f"/manage/redemptions/{redemption.id}/void/", {"reason": "forged"})
    assert forged.status_code == 403
    own = desk.post(
        f"/manage/redemptions/{redemption.id}/void/",
        {"reason": "forged", "approver_username": "dev", "approver_password": PASSWORD},
    )
    assert own.status_code == 403 and "cannot approve a void" in own.content.decode()
    redemption.refresh_from_db()
    assert redemption.voided_at is None
    assert not Refund.objects.filter(package=package).exists()
    package.refresh_from_db()
    assert package.closure is None
    assert_reconciled()


def test_the_accountant_reads_reports_but_changes_nothing(demo, as_staff):
    from punchcard.tenancy.models import StaffMember

    StaffMember.objects.filter(tenant=demo.tenant, user__username="farah").update(role="accountant")
    accountant = as_staff("farah")
    assert accountant.get("/manage/reports/sales/").status_code == 200
    csv = accountant.get("/manage/reports/sales/?format=csv")
    assert csv["Content-Type"].startswith("text/csv") and csv.content.startswith(b"plan,period")
    journal = accountant.get("/manage/reports/journal/?from=2026-01-01&to=2026-12-31")
    assert journal.content.startswith(b"date,entry,kind")
    package = demo.packages["asha-physio"]
    assert accountant.get(f"/manage/packages/{package.id}/refund/").status_code == 403
    assert accountant.get("/manage/staff/").status_code == 403


def test_a_bad_report_filter_is_named_and_an_out_of_range_refund_writes_nothing(demo, as_staff):
    manager = as_staff("meera")
    bad = manager.get("/manage/reports/sales/?from=2026-05-01&to=2026-04-01")
    assert bad.status_code == 422 and "From is after to" in bad.content.decode()
    package = demo.packages["asha-physio"]
    refused = manager.post(f"/manage/packages/{package.id}/refund/", {"amount": "100000", "reason": "moving"})
    assert refused.status_code == 422
    assert "A refund must be between ₹0.00 and the ₹8,000.00 collected." in refused.content.decode()
    assert not Refund.objects.filter(package=package).exists()
    done = manager.post(f"/manage/packages/{package.id}/refund/", {"amount": "1,500", "reason": "moving"})
    assert done.status_code == 302
    assert Refund.objects.get(package=package).amount == 150000
    assert Package.objects.get(pk=package.pk).closure == "cancelled"
    assert_reconciled()


def test_a_void_asked_by_the_desk_is_approved_by_the_managers_login_and_records_them(demo, as_staff):
    desk = as_staff("dev")
    redemption = Redemption.objects.filter(package=demo.packages["asha-physio"], voided_at__isnull=True).first()
    wrong = desk.post(
        f"/manage/redemptions/{redemption.id}/void/",
        {"reason": "wrong patient", "approver_username": "meera", "approver_password": "not-it"},
    )
    assert wrong.status_code == 422 and "username or password is not right" in wrong.content.decode()
    ok = desk.post(
        f"/manage/redemptions/{redemption.id}/void/",
        {"reason": "wrong patient", "approver_username": "meera", "approver_password": PASSWORD},
    )
    assert ok.status_code == 302
    redemption.refresh_from_db()
    assert redemption.voided_at is not None and redemption.void_approver.name == "Meera Iyer"
    assert_reconciled()


def test_bulk_codes_are_downloaded_once_and_an_api_secret_is_shown_once(demo, as_staff):
    from punchcard.tenancy.models import StaffMember

    StaffMember.objects.filter(tenant=demo.tenant, user__username="meera").update(role="admin")
    admin = as_staff("meera")
    plan = demo.packages["asha-physio"].plan_version.plan
    buyer = demo.patients["asha"] if "asha" in demo.patients else demo.packages["asha-physio"].holder
    form = {
        "buyer": buyer.external_ref,
        "plan_id": plan.id,
        "quantity": "3",
        "valid_days": "90",
        "idempotency_key": "k-1",
    }
    first = admin.post("/manage/claim-codes/", form)
    rows = first.content.decode().splitlines()
    assert first["Content-Disposition"].startswith("attachment") and len(rows) == 4
    assert all(len(r.split(",")[0]) > 8 for r in rows[1:])
    again = admin.post("/manage/claim-codes/", form).content.decode().splitlines()
    assert len(again) == 4 and all(r.split(",")[0] == "" for r in again[1:])  # the codes are not kept
    assert ClaimCode.objects.filter(tenant=demo.tenant).count() >= 3
    made = admin.post("/manage/api-keys/new/", {"key_name": "Scheduler", "key_role": "front_desk"})
    key = ApiKey.objects.get(tenant=demo.tenant, name="Scheduler")
    assert "Copy it now" in made.content.decode() and key.prefix in made.content.decode()
    secret = re.search(r"pc_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}", made.content.decode()).group()
    assert secret.startswith(key.prefix) and secret not in admin.get("/manage/staff/").content.decode()
    assert "Copy it now" not in admin.get("/manage/staff/").content.decode()
    assert_reconciled()


def test_editing_a_sold_plan_makes_a_new_version_and_says_so(demo, as_staff):
    manager = as_staff("meera")
    plan = demo.packages["asha-physio"].plan_version.plan
    form = manager.get(f"/manage/catalogue/{plan.id}/")
    assert "saving makes version" in form.content.decode()
    before = plan.current.number
    initial = form.context["f"]
    post = {k: v for k, v in initial.items() if k not in ("lines", "centre_ids") and v not in (None, False)}
    post.update({k: "on" for k in ("tax_inclusive", "shareable", "transferable") if initial[k]})
    post["centre_ids"] = initial["centre_ids"]
    for i, line in enumerate(initial["lines"]):
        post.update(
            {
                f"line{i}_label": line["label"],
                f"line{i}_services": line["services"],
                f"line{i}_sessions": line["sessions"],
                f"line{i}_bonus": line["bonus"],
            }
        )
    post["name"] = "Physiotherapy Recovery Pack (2027)"
    saved = manager.post(f"/manage/catalogue/{plan.id}/", post, follow=True)
    assert f"Saved as version {before + 1}" in saved.content.decode()
    old, new = plan.versions.get(number=before), plan.versions.get(number=before + 1)
    assert new.name == "Physiotherapy Recovery Pack (2027)" and new.price == old.price
    assert new.commission_policy == old.commission_policy and new.expiry == old.expiry
    keep = ("label", "sessions", "bonus_sessions", "patient_pays", "top_up_price")
    assert [[getattr(x, k) for k in keep] for x in new.lines.all()] == [
        [getattr(x, k) for k in keep] for x in old.lines.all()
    ]
    post["price"] = "-5"
    refused = manager.post(f"/manage/catalogue/{plan.id}/", post)
    assert refused.status_code == 422 and 'id="p-price-error"' in refused.content.decode()


@pytest.mark.parametrize("app", ["console", "portal"])
def test_no_console_or_portal_module_writes_through_the_orm(app):
    """Every change goes through a service: no save/delete/create/update call in console/ or portal/, and no
    import of django.db (import-linter's forbidden contracts cannot name a subpackage of Django, so this test
    does)."""
    always = {"save", "delete", "bulk_create", "bulk_update", "set_password", "select_for_update"}
    on_managers = {"create", "update", "get_or_create", "update_or_create"}  # dict.update is fine

    def through_a_manager(node) -> bool:
        while isinstance(node, (ast.Attribute, ast.Call)):
            if isinstance(node, ast.Attribute) and node.attr == "objects":
                return True
            node = node.value if isinstance(node, ast.Attribute) else node.func
        return False

    found = []
    for path in (CONSOLE.parent / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django.db"):
                found.append(f"{path.name}:{node.lineno} imports {node.module}")  # no transaction/connection here
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name in always or (name in on_managers and through_a_manager(node.func.value)):
                found.append(f"{path.name}:{node.lineno} .{name}()")
    assert found == []
