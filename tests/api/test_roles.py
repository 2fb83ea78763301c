"""The role matrix: every write route × every role is either allowed or a 403 naming the missing permission.

Each case builds its own fresh target (a package to close, a redemption to void, …) for every role, so the
only thing that differs between roles is the role.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from punchcard.api.router import api
from punchcard.domain.roles import GRANTS, ROLES, Actor, Perm

from .conftest import Api

pytestmark = pytest.mark.django_db

_n = itertools.count(1)
ADMIN_ACTOR = Actor(label="test-admin", role="admin", source="tests")


def fresh_package(clinic, data, plan="physio", patient=None):
    return clinic.sell(data[plan], patient=patient or clinic.asha)


def open_order(clinic, data):
    from punchcard.billing.services import OrderItem, place_order

    return place_order(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.lata.id,
        centre_id=clinic.centre.id,
        items=[OrderItem(plan_id=data["physio"].plan_id)],
    )


def stored_card(clinic, patient=None):
    from punchcard.billing.services import add_payment_method

    return add_payment_method(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=(patient or clinic.asha).id,
        provider="test",
        token="tok_ok",
    )


def refunded_credit(clinic, data):
    from punchcard.billing.services import refund_package

    package = fresh_package(clinic, data, patient=clinic.nikhil)
    refund_package(tenant=clinic.tenant, actor=clinic.manager, package_id=package.id, reason="moving", amount=100)
    return clinic.nikhil


def line_of(package):
    return package.lines.order_by("id").first().id


def terms(clinic):
    return {"name": "Chiro", "price": 1000, "lines": [{"service_ids": [clinic.services["chiro"].id], "sessions": 2}]}


# (method, path template, permission, arrange(clinic, data) → (path, body))
WRITES = [
    (
        "POST",
        "/centres",
        Perm.ADMIN,
        lambda c, d: ("/centres", {"name": "New", "code": f"c{next(_n)}", "timezone": "UTC"}),
    ),
    (
        "PATCH",
        "/centres/{centre_id}",
        Perm.ADMIN,
        lambda c, d: (f"/centres/{c.other_centre.id}", {"name": f"Koramangala {next(_n)}"}),
    ),
    ("PATCH", "/tenant", Perm.ADMIN, lambda c, d: ("/tenant", {"name": f"Clinic {next(_n)}"})),
    (
        "POST",
        "/staff",
        Perm.ADMIN,
        lambda c, d: ("/staff", {"name": "New", "role": "front_desk", "email": f"s{next(_n)}@clinic.example"}),
    ),
    ("PATCH", "/staff/{staff_id}", Perm.ADMIN, lambda c, d: (f"/staff/{new_staff(c).id}", {"role": "manager"})),
    (
        "POST",
        "/staff/{staff_id}/deactivate",
        Perm.ADMIN,
        lambda c, d: (f"/staff/{new_staff(c).id}/deactivate", {"reason": "left"}),
    ),
    ("POST", "/api-keys", Perm.ADMIN, lambda c, d: ("/api-keys", {"name": "scheduler", "role": "front_desk"})),
    ("POST", "/api-keys/{prefix}/revoke", Perm.ADMIN, lambda c, d: (f"/api-keys/{new_key(c)}/revoke", None)),
    (
        "POST",
        "/services",
        Perm.EDIT_CATALOGUE,
        lambda c, d: ("/services", {"name": "New", "code": f"s{next(_n)}", "list_price": 100}),
    ),
    (
        "PATCH",
        "/services/{service_id}",
        Perm.EDIT_CATALOGUE,
        lambda c, d: (f"/services/{c.services['facial'].id}", {"list_price": 12000}),
    ),
    (
        "POST",
        "/patients",
        Perm.MANAGE_PATIENTS,
        lambda c, d: ("/patients", {"external_ref": f"R-{next(_n)}", "name": "New"}),
    ),
    (
        "PATCH",
        "/patients/{patient_id}",
        Perm.MANAGE_PATIENTS,
        lambda c, d: (f"/patients/{c.priya.id}", {"phone": "123"}),
    ),
    ("POST", "/plans", Perm.EDIT_CATALOGUE, lambda c, d: ("/plans", {"code": f"p{next(_n)}", **terms(c)})),
    ("PUT", "/plans/{plan_id}", Perm.EDIT_CATALOGUE, lambda c, d: (f"/plans/{d['physio'].plan_id}", terms(c))),
    (
        "POST",
        "/plans/{plan_id}/status",
        Perm.EDIT_CATALOGUE,
        lambda c, d: (f"/plans/{d['family'].plan_id}/status", {"status": "on_sale"}),
    ),
    (
        "POST",
        "/orders",
        Perm.SELL,
        lambda c, d: (
            "/orders",
            {"patient_id": c.lata.id, "centre_id": c.centre.id, "items": [{"plan_id": d["physio"].plan_id}]},
        ),
    ),
    (
        "POST",
        "/orders/{order_id}/payments",
        Perm.SELL,
        lambda c, d: (f"/orders/{open_order(c, d).id}/payments", {"method": "cash", "amount": 1000}),
    ),
    (
        "POST",
        "/orders/{order_id}/pay-later",
        Perm.ADJUST,
        lambda c, d: (f"/orders/{open_order(c, d).id}/pay-later", {"reason": "insurer"}),
    ),
    (
        "POST",
        "/orders/{order_id}/cancel",
        Perm.SELL,
        lambda c, d: (f"/orders/{open_order(c, d).id}/cancel", {"reason": "changed mind"}),
    ),
    (
        "POST",
        "/packages/{package_id}/redemptions",
        Perm.REDEEM,
        lambda c, d: (
            f"/packages/{d['package'].id}/redemptions",
            {"service_id": c.services["physio"].id, "centre_id": c.centre.id},
        ),
    ),
    (
        "POST",
        "/redemptions/{redemption_id}/void",
        Perm.VOID,
        lambda c, d: (f"/redemptions/{c.redeem(d['package'], 'physio').id}/void", {"reason": "error"}),
    ),
    (
        "POST",
        "/packages/{package_id}/holds",
        Perm.REDEEM,
        lambda c, d: (
            f"/packages/{d['package'].id}/holds",
            {"service_id": c.services["physio"].id, "centre_id": c.centre.id, "day": "2026-03-04"},
        ),
    ),
    (
        "POST",
        "/holds/{hold_id}/post",
        Perm.REDEEM,
        lambda c, d: (f"/holds/{c.hold(d['package'], 'physio', dt.date(2026, 3, 1)).id}/post", None),
    ),
    (
        "POST",
        "/holds/{hold_id}/release",
        Perm.REDEEM,
        lambda c, d: (f"/holds/{c.hold(d['package'], 'physio', dt.date(2026, 3, 2)).id}/release", {"reason": "x"}),
    ),
    (
        "POST",
        "/packages/{package_id}/adjustments",
        Perm.ADJUST,
        lambda c, d: (
            f"/packages/{d['package'].id}/adjustments",
            {"line_id": line_of(d["package"]), "delta": 1, "reason": "goodwill"},
        ),
    ),
    (
        "POST",
        "/packages/{package_id}/expiry",
        Perm.CHANGE_EXPIRY,
        lambda c, d: (f"/packages/{d['package'].id}/expiry", {"expires_on": "2026-12-31", "reason": "illness"}),
    ),
    (
        "POST",
        "/packages/{package_id}/complete",
        Perm.CLOSE,
        lambda c, d: (f"/packages/{fresh_package(c, d).id}/complete", {"reason": "plan changed"}),
    ),
    (
        "POST",
        "/packages/{package_id}/cancel",
        Perm.CLOSE,
        lambda c, d: (f"/packages/{fresh_package(c, d).id}/cancel", {"reason": "moved"}),
    ),
    (
        "POST",
        "/packages/{package_id}/beneficiaries",
        Perm.REDEEM,
        lambda c, d: (f"/packages/{fresh_package(c, d, 'family').id}/beneficiaries", {"patient_id": c.kiran.id}),
    ),
    (
        "DELETE",
        "/packages/{package_id}/beneficiaries/{patient_id}",
        Perm.REDEEM,
        lambda c, d: (_shared_with_kiran(c, d), None),
    ),
    (
        "POST",
        "/packages/{package_id}/transfer",
        Perm.TRANSFER,
        lambda c, d: (f"/packages/{fresh_package(c, d, 'family').id}/transfer", {"to_patient_id": c.priya.id}),
    ),
    (
        "POST",
        "/packages/{package_id}/refund",
        Perm.REFUND,
        lambda c, d: (f"/packages/{fresh_package(c, d).id}/refund", {"reason": "moving away"}),
    ),
    (
        "POST",
        "/packages/{package_id}/top-ups",
        Perm.SELL,
        lambda c, d: (f"/packages/{d['topped'].id}/top-ups", {"line_id": line_of(d["topped"]), "sessions": 1}),
    ),
    (
        "POST",
        "/packages/{package_id}/upgrade",
        Perm.SELL,
        lambda c, d: (f"/packages/{fresh_package(c, d, 'small').id}/upgrade", {"plan_id": d["physio"].plan_id}),
    ),
    (
        "POST",
        "/patients/{patient_id}/credit/payouts",
        Perm.REFUND,
        lambda c, d: (f"/patients/{refunded_credit(c, d).id}/credit/payouts", {"method": "cash", "amount": 100}),
    ),
    (
        "POST",
        "/plans/{plan_id}/online",
        Perm.EDIT_CATALOGUE,
        lambda c, d: (f"/plans/{d['physio'].plan_id}/online", {"online": True}),
    ),
    (
        "POST",
        "/patients/{patient_id}/portal-links",
        Perm.MANAGE_PATIENTS,
        lambda c, d: (f"/patients/{c.asha.id}/portal-links", {"days": 7}),
    ),
    (
        "POST",
        "/patients/{patient_id}/portal-links/revoke",
        Perm.MANAGE_PATIENTS,
        lambda c, d: (f"/patients/{c.asha.id}/portal-links/revoke", {"reason": "phone lost"}),
    ),
    (
        "POST",
        "/patients/{patient_id}/payment-methods",
        Perm.SELL,
        lambda c, d: (f"/patients/{c.asha.id}/payment-methods", {"provider": "test", "token": "tok_ok"}),
    ),
    (
        "DELETE",
        "/payment-methods/{method_id}",
        Perm.SELL,
        lambda c, d: (f"/payment-methods/{stored_card(c).id}", None),
    ),
    (
        "POST",
        "/orders/{order_id}/charges",
        Perm.SELL,
        lambda c, d: (f"/orders/{open_order(c, d).id}/charges", {"payment_method_id": stored_card(c, c.lata).id}),
    ),
    (
        "POST",
        "/orders/{order_id}/checkout",
        Perm.SELL,
        lambda c, d: (f"/orders/{open_order(c, d).id}/checkout", {"provider": "test", "return_url": "/done"}),
    ),
]


def _membership_plan(clinic, **policies):
    from punchcard.memberships import services as memberships
    from punchcard.memberships.services.plans import policies_of

    return memberships.create_membership_plan(
        tenant=clinic.tenant,
        actor=clinic.manager,
        code=f"m{next(_n)}",
        terms=memberships.MembershipTerms(
            name="Gold", prices={"monthly": 0, "annual": 0}, policies=policies_of(policies)
        ),
    )


def _member(clinic, *, status="active", **policies):
    """A fresh membership (free, so nothing is owed) in `status`: active, paused or cancelling."""
    from punchcard.memberships import services as memberships

    plan = _membership_plan(clinic, pause={"allowed": True}, cancellation="immediate", **policies)
    member = memberships.subscribe(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.priya.id,
        plan_id=plan.plan_id,
        frequency="monthly",
        centre_id=clinic.centre.id,
    )
    if status == "paused":
        memberships.pause(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, months=1)
    if status == "cancelling":
        memberships.cancel(tenant=clinic.tenant, actor=clinic.front_desk, membership_id=member.id, when="period_end")
    return member


def _open_invoice(clinic):
    from punchcard.memberships import services as memberships

    plan = memberships.create_membership_plan(
        tenant=clinic.tenant,
        actor=clinic.manager,
        code=f"m{next(_n)}",
        terms=memberships.MembershipTerms(name="Silver", prices={"monthly": 1000}),
    )
    member = memberships.subscribe(
        tenant=clinic.tenant,
        actor=clinic.front_desk,
        patient_id=clinic.priya.id,
        plan_id=plan.plan_id,
        frequency="monthly",
        centre_id=clinic.centre.id,
    )
    return member.invoices.get()


def _plan_body(clinic):
    return {"code": f"m{next(_n)}", "name": "Gold", "prices": {"monthly": 300000}}


# The memberships router's write routes (its own table: its reads are covered by tests/memberships).
MEMBERSHIP_WRITES = [
    (
        "POST",
        "/tier-groups",
        Perm.MANAGE_MEMBERSHIP_PLANS,
        lambda c, d: ("/tier-groups", {"code": f"g{next(_n)}", "name": "Aesthetics"}),
    ),
    ("POST", "/membership-plans", Perm.MANAGE_MEMBERSHIP_PLANS, lambda c, d: ("/membership-plans", _plan_body(c))),
    (
        "PUT",
        "/membership-plans/{membership_plan_id}",
        Perm.MANAGE_MEMBERSHIP_PLANS,
        lambda c, d: (f"/membership-plans/{_membership_plan(c).plan_id}", {"name": "Gold", "prices": {"monthly": 1}}),
    ),
    (
        "POST",
        "/membership-plans/{membership_plan_id}/status",
        Perm.MANAGE_MEMBERSHIP_PLANS,
        lambda c, d: (f"/membership-plans/{_membership_plan(c).plan_id}/status", {"status": "retired"}),
    ),
    (
        "POST",
        "/memberships",
        Perm.SELL_MEMBERSHIP,
        lambda c, d: (
            "/memberships",
            {
                "patient_id": c.priya.id,
                "plan_id": _membership_plan(c).plan_id,
                "frequency": "monthly",
                "centre_id": c.centre.id,
            },
        ),
    ),
    (
        "POST",
        "/memberships/{membership_id}/pause",
        Perm.SELL_MEMBERSHIP,
        lambda c, d: (f"/memberships/{_member(c).id}/pause", {"months": 1}),
    ),
    (
        "POST",
        "/memberships/{membership_id}/resume",
        Perm.SELL_MEMBERSHIP,
        lambda c, d: (f"/memberships/{_member(c, status='paused').id}/resume", None),
    ),
    (
        "POST",
        "/memberships/{membership_id}/cancel",
        Perm.SELL_MEMBERSHIP,
        lambda c, d: (f"/memberships/{_member(c).id}/cancel", {"when": "now"}),
    ),
    (
        "POST",
        "/memberships/{membership_id}/keep",
        Perm.SELL_MEMBERSHIP,
        lambda c, d: (f"/memberships/{_member(c, status='cancelling').id}/keep", None),
    ),
    (
        "POST",
        "/memberships/{membership_id}/change-preview",
        Perm.SELL_MEMBERSHIP,
        lambda c, d: (
            f"/memberships/{(m := _member(c)).id}/change-preview",
            {"plan_id": m.plan_id, "frequency": "annual"},
        ),
    ),
    (
        "POST",
        "/memberships/{membership_id}/change",
        Perm.SELL_MEMBERSHIP,
        lambda c, d: (f"/memberships/{(m := _member(c)).id}/change", {"plan_id": m.plan_id, "frequency": "annual"}),
    ),
    (
        "POST",
        "/invoices/{invoice_id}/payments",
        Perm.SELL_MEMBERSHIP,
        lambda c, d: (f"/invoices/{_open_invoice(c).id}/payments", {"method": "cash", "amount": 1000}),
    ),
]

MONEY_READS = {"/packages/{package_id}/money", "/patients/{patient_id}/credit"}
ADMIN_READS = {"/tenant", "/staff", "/api-keys"}
# The routers this matrix covers (other apps' routes are covered by their own tests and the generated ones).
CORE = (
    "punchcard_tenancy_api_",
    "punchcard_tenancy_admin_api_",
    "punchcard_catalogue_api_",
    "punchcard_billing_api_",
    "punchcard_packages_api_",
)


def new_staff(clinic):
    from punchcard.tenancy.services import create_staff_member

    return create_staff_member(tenant=clinic.tenant, actor=ADMIN_ACTOR, name=f"Staff {next(_n)}", role="front_desk")


def new_key(clinic):
    from punchcard.tenancy.services import create_api_key

    key, _ = create_api_key(tenant=clinic.tenant, actor=ADMIN_ACTOR, name=f"key {next(_n)}", role="front_desk")
    return key.prefix


def _shared_with_kiran(clinic, data):
    from punchcard.packages.services import add_beneficiary

    package = fresh_package(clinic, data, "family")
    add_beneficiary(tenant=clinic.tenant, actor=clinic.front_desk, package_id=package.id, patient_id=clinic.kiran.id)
    return f"/packages/{package.id}/beneficiaries/{clinic.kiran.id}"


@pytest.fixture
def matrix_data(clinic, data):
    topped_plan = clinic.plan("yoga-topup", price=20000, lines=[clinic.line("yoga", sessions=10, top_up_price=1000)])
    small = clinic.plan("physio-2", price=150000, lines=[clinic.line("physio", sessions=2)])
    return {**data, "small": small, "topped": clinic.sell(topped_plan, patient=clinic.lata)}


@pytest.mark.parametrize("method, template, perm, arrange", WRITES, ids=[f"{m} {t}" for m, t, _, _ in WRITES])
def test_write_route_by_role(clinic, matrix_data, keys, method, template, perm, arrange):
    for role in ROLES:
        path, body = arrange(clinic, matrix_data)
        reply = Api(keys[role]).call(method, path, body)
        if perm in GRANTS[role]:
            assert 200 <= reply.status < 300, (role, reply.status, reply.body)
        else:
            assert reply.status == 403, (role, reply.status, reply.body)
            assert reply.body["code"] == "forbidden" and reply.body["permission"] == str(perm), (role, reply.body)


@pytest.mark.parametrize(
    "method, template, perm, arrange", MEMBERSHIP_WRITES, ids=[f"{m} {t}" for m, t, _, _ in MEMBERSHIP_WRITES]
)
def test_membership_write_route_by_role(clinic, matrix_data, keys, method, template, perm, arrange):
    test_write_route_by_role(clinic, matrix_data, keys, method, template, perm, arrange)


def test_the_membership_table_covers_every_membership_write_route():
    schema = api.get_openapi_schema(path_prefix="")
    writes = {
        (method.upper(), path.replace("{int:invoice_id}", "{invoice_id}"))
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method != "get" and op["operationId"].startswith("punchcard_memberships_api_")
    }
    assert writes == {(m, t) for m, t, _, _ in MEMBERSHIP_WRITES}


def test_read_routes_need_read_and_money_routes_need_read_money(clinic, data, keys):
    package, patient = data["package"], clinic.asha
    schema = api.get_openapi_schema(path_prefix="")
    for template, item in schema["paths"].items():
        if "get" not in item or not item["get"]["operationId"].startswith(CORE):
            continue
        path = (
            template.replace("{package_id}", str(package.id))
            .replace("{patient_id}", str(patient.id))
            .replace("{plan_id}", str(data["physio"].plan_id))
            .replace("{order_id}", str(package.order_line.order_id))
        )
        for role in ROLES:
            reply = Api(keys[role]).get(path)
            needs = Perm.READ_MONEY if template in MONEY_READS else Perm.ADMIN if template in ADMIN_READS else Perm.READ
            if needs in GRANTS[role]:
                assert reply.status == 200, (template, role, reply.body)
            else:
                assert (reply.status, reply.body["permission"]) == (403, str(needs)), (template, role)


def test_the_matrix_covers_every_write_route():
    schema = api.get_openapi_schema(path_prefix="")
    writes = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method != "get" and op["operationId"].startswith(CORE)
    }
    assert writes == {(m, t) for m, t, _, _ in WRITES}
