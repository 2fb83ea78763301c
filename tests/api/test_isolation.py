"""Tenant isolation, generated from the OpenAPI document: every operation, called by tenant B with tenant A's
ids, answers 404 (or 403) and never A's data, and writes nothing to A. (A list whose only reference to A is
a filter may instead answer an empty page.)

Path parameters get A's ids, id filters in the query get A's ids, and request bodies are built from their
schemas with every id field set to one of A's ids and every other field to a valid value, so that the only
thing wrong with the request is whose ids it names. Operations that name no id (lists without filters,
creating a patient) must simply not show anything of A's. A new route is covered automatically; a new
kind of id parameter makes this test fail until it is taught which of A's objects to use.
"""

from __future__ import annotations

import datetime as dt

import pytest

from punchcard.api.router import api
from punchcard.billing.models import Order, Payment
from punchcard.catalogue.models import Plan
from punchcard.domain.roles import Actor
from punchcard.packages.models import Beneficiary, Hold, Redemption, SessionEntry
from punchcard.tenancy.models import ApiKey, AuditEvent, Patient, Role, Service
from punchcard.tenancy.services import create_api_key, create_patient, create_service

from ..clinic import Clinic
from .conftest import Api, api_key, seed

pytestmark = pytest.mark.django_db

SCHEMA = api.get_openapi_schema(path_prefix="")
COMPONENTS = SCHEMA["components"]["schemas"]
OPERATIONS = [(method.upper(), path, op) for path, item in SCHEMA["paths"].items() for method, op in item.items()]
MARKERS = ("Alphaonly", "ALPHA-SECRET", "alpha-secret")
# The only operations without an API key, each answerable without one by design.
PUBLIC = {
    (
        "POST",
        "/providers/{name}/webhooks",
    ): "the provider signs each delivery (tests/payments/test_webhooks.py: a wrong one is 401)",
    ("GET", "/providers/test/checkout/{session}"): "the test provider's hosted page, named by its unguessable session",
}


@pytest.fixture
def tenant_a(db) -> dict:
    """Tenant A with one of everything, named so that its data is recognisable anywhere."""
    clinic = Clinic.open()
    data = seed(clinic)
    secret_patient = create_patient(
        tenant=clinic.tenant, actor=clinic.front_desk, external_ref="ALPHA-SECRET-1", name="Zed Alphaonly"
    )
    service = create_service(
        tenant=clinic.tenant,
        actor=clinic.manager,
        name="Alphaonly massage",
        code="alpha-secret-massage",
        list_price=5000,
    )
    clinic.plan("alpha-secret-plan", price=1000, lines=[clinic.line("physio", sessions=1)], name="Alphaonly plan")
    package = data["package"]
    redemption = clinic.redeem(package, "physio")
    hold = clinic.hold(package, "physio", dt.date(2026, 3, 2))
    a = {
        **other_apps(clinic, data, service),
        "clinic": clinic,
        "ids": {
            "package_id": package.id,
            "patient_id": secret_patient.id,
            "person_id": secret_patient.id,
            "to_patient_id": secret_patient.id,
            "plan_id": data["physio"].plan_id,
            "order_id": package.order_line.order_id,
            "redemption_id": redemption.id,
            "hold_id": hold.id,
            "service_id": service.id,
            "centre_id": clinic.centre.id,
            "line_id": package.lines.first().id,
            "practitioner_id": clinic.front_desk.staff_id,
            "credited_staff_id": clinic.manager.staff_id,
            "staff_id": clinic.manager.staff_id,
            # query filters
            "patient": secret_patient.id,
            "centre": clinic.centre.id,
            "plan": data["physio"].plan_id,
        },
        "lists": {"service_ids": [service.id], "centre_ids": [clinic.centre.id]},
        "text": {"external_ref": "ALPHA-SECRET-1", "name": "Alphaonly"},
    }
    a["ids"].update(a.pop("more_ids"))
    return a


def other_apps(clinic, data, service) -> dict:
    """Tenant A's appointments, events, promotions, claim codes and receipts, for those apps' routes."""
    from punchcard.appointments.events import ingest_event
    from punchcard.appointments.models import Appointment, AppointmentEvent
    from punchcard.appointments.services import book_appointment
    from punchcard.billing.receipts import issue_receipt
    from punchcard.billing.services.payment_methods import add_payment_method
    from punchcard.claims.models import ClaimCode
    from punchcard.claims.services import create_transfer_code
    from punchcard.memberships import services as memberships
    from punchcard.notifications.models import Delivery, OutboxEvent
    from punchcard.notifications.services import create_endpoint
    from punchcard.promotions.services import create_promotion

    tenant = clinic.tenant
    start = clinic.now + dt.timedelta(days=2)
    book_appointment(
        tenant=tenant,
        actor=clinic.front_desk,
        external_id="appt-a-1",
        patient_id=clinic.asha.id,
        service_id=clinic.services["physio"].id,
        centre_id=clinic.centre.id,
        start=start,
    )
    ingest_event(
        tenant=tenant,
        actor=clinic.front_desk,
        payload={
            "external_id": "appt-a-2",
            "status": "booked",
            "patient": clinic.asha.external_ref,
            "service": "physio",
            "centre": clinic.centre.code,
            "start": start.isoformat(),
        },
    )
    promotion = create_promotion(
        tenant=tenant,
        actor=clinic.manager,
        name="Alphaonly promo",
        kind="percent",
        code="ALPHA-SECRET-PROMO",
        percent_bp=1000,
    )
    issued = create_transfer_code(tenant=tenant, actor=clinic.manager, package_id=data["shared"].id)
    key, _ = create_api_key(
        tenant=tenant, actor=Actor(label="test-admin", role=Role.ADMIN), name="Alphaonly key", role="front_desk"
    )
    receipt = issue_receipt(
        tenant=tenant, actor=clinic.manager, kind="sale", subject_id=data["package"].order_line.order_id
    )
    endpoint = create_endpoint(
        tenant=tenant,
        actor=Actor(label="test-admin", role="admin", source="tests"),
        url="https://hooks.example.com/alpha-secret",
        event_types=["*"],
    )
    delivery = Delivery.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event=OutboxEvent.objects.filter(tenant=tenant).first(),
        next_attempt_at=clinic.now,
    )
    group = memberships.create_tier_group(tenant=tenant, actor=clinic.manager, code="alpha-secret", name="Alphaonly")
    gold = memberships.create_membership_plan(
        tenant=tenant,
        actor=clinic.manager,
        code="alpha-secret-gold",
        terms=memberships.MembershipTerms(name="Alphaonly Gold", prices={"monthly": 100000}),
        tier_group_id=group.id,
    )
    card = add_payment_method(
        tenant=tenant, actor=clinic.front_desk, patient_id=clinic.asha.id, provider="test", token="tok_ok"
    )
    member = memberships.subscribe(
        tenant=tenant,
        actor=clinic.front_desk,
        patient_id=clinic.asha.id,
        plan_id=gold.plan_id,
        frequency="monthly",
        centre_id=clinic.centre.id,
        payment_method_id=card.id,
    )
    return {
        "more_ids": {
            "tier_group_id": group.id,
            "membership_plan_id": gold.plan_id,
            "membership_id": member.id,
            "invoice_id": member.invoices.get().id,
            "payment_method_id": card.id,
            "method_id": card.id,
            "endpoint_id": endpoint.id,
            "delivery_id": delivery.id,
            "appointment_id": Appointment.objects.filter(tenant=tenant).first().id,
            "event_id": AppointmentEvent.objects.filter(tenant=tenant).first().id,
            "promotion_id": promotion.id,
            "code_id": ClaimCode.objects.filter(tenant=tenant).first().id,
            "receipt_id": receipt.id,
        },
        # Path parameters that are names, not ids: B may use them too; only A's data must not show.
        "path_text": {
            "resource_id": "appt-a-1",
            "name": "sales",
            "code": "not_found",
            "prefix": key.prefix,
            "period": "2026-02",
        },
        # Body text that names one of A's objects: B presenting A's claim code.
        "body_text": {
            ("POST", "/claim-codes/claim"): {"code": issued.plaintext},
            # An installed provider, so that only the path's id can be what is refused.
            ("POST", "/patients/{patient_id}/payment-methods"): {"provider": "test"},
            ("POST", "/orders/{order_id}/checkout"): {"provider": "test", "return_url": "/portal/"},
        },
    }


def footprint(tenant) -> dict:
    """What a write to tenant A would change."""
    return {
        model.__name__: model.objects.filter(tenant=tenant).count()
        for model in (
            AuditEvent,
            SessionEntry,
            Redemption,
            Hold,
            Beneficiary,
            Order,
            Payment,
            Patient,
            Service,
            Plan,
            ApiKey,
        )
    }


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def sample(schema: dict, name: str, a: dict, named: list):
    """A valid value for `schema`; ids (and id lists) are tenant A's, recorded in `named`."""
    schema = resolve(schema)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if resolve(s).get("type") != "null"]
        return sample(options[0], name, a, named)
    if name in a["ids"] and schema.get("type") == "integer":
        named.append(name)
        return a["ids"][name]
    if name in a["lists"]:
        named.append(name)
        return a["lists"][name]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        low = schema.get("minimum", 1)
        return max(low, 1) if schema.get("maximum", 1) >= 1 else low
    if kind == "string":
        if schema.get("format") == "date":
            return "2026-03-10"
        if schema.get("format") == "date-time":
            return "2026-03-10T10:00:00+05:30"
        return "valid-text"[: schema.get("maxLength", 10)]
    if kind == "boolean":
        return False
    if kind == "array":
        return [sample(schema["items"], name, a, named)] if schema.get("minItems") else []
    if kind == "object":
        required = set(schema.get("required", []))
        props = schema.get("properties", {})
        return {
            key: sample(sub, key, a, named)
            for key, sub in props.items()
            if key in required or key in a["ids"] or key in a["lists"]
        }
    raise AssertionError(f"no sample for {name}: {schema}")


def build_request(method: str, path: str, op: dict, a: dict) -> tuple[str, dict, object, list]:
    named: list[str] = []
    template = path
    query = {}
    for param in op.get("parameters", []):
        if param["in"] == "path" and param["name"] in a["path_text"]:
            path = path.replace(f"{{{param['name']}}}", a["path_text"][param["name"]])
        elif param["in"] == "path":
            assert param["name"] in a["ids"], f"teach the isolation test which of A's objects {param['name']} is"
            path = path.replace(f"{{{param['name']}}}", str(a["ids"][param["name"]]))
            named.append(param["name"])
        elif param["in"] == "query":
            if param["name"] in a["ids"]:
                query[param["name"]] = a["ids"][param["name"]]
                named.append(param["name"])
            elif param["name"] in a["text"]:
                query[param["name"]] = a["text"][param["name"]]
    body = None
    if "requestBody" in op:
        content = op["requestBody"]["content"]
        body_schema = next(iter(content.values()))["schema"]
        body = sample(body_schema, "", a, named)
        if (method, template) in a["body_text"]:
            body.update(a["body_text"][(method, template)])
            named.extend(a["body_text"][(method, template)])
    return path, query, body, named


def check(b_admin, a: dict, method: str, path: str, op: dict) -> str | None:
    """Why this operation leaks across tenants, or None."""
    url, query, body, named = build_request(method, path, op, a)
    before = footprint(a["clinic"].tenant)
    reply = b_admin.call(method, url, body, params=query) if method == "GET" else b_admin.call(method, url, body)
    where = f"{method} {path} (as {url}, naming {named or 'no ids'}): {reply.status} {reply.body}"
    if any(marker in reply.raw.decode() for marker in MARKERS):
        return f"shows tenant A's data: {where}"
    if footprint(a["clinic"].tenant) != before:
        return f"wrote to tenant A: {where}"
    only_filters = method == "GET" and named and set(named) <= set(query)
    if only_filters and reply.status == 200 and reply.body.get("items") == []:
        return None  # a list filtered by A's id: nothing to show is as good as a 404
    if named and (reply.status not in (403, 404) or not reply.content_type.startswith("application/problem+json")):
        return f"expected 404 or 403: {where}"
    if reply.status >= 500:
        return f"server error: {where}"
    return None


def test_tenant_b_never_reaches_tenant_a(tenant_a):
    # One pass over every operation (two tenants set up once), reporting every leak at the end.
    tenant_b = Clinic.open()
    seed(tenant_b)
    b_admin = Api(api_key(tenant_b, Role.ADMIN))
    secured = [(m, p, op) for m, p, op in OPERATIONS if op.get("security")]
    failures = [f for f in (check(b_admin, tenant_a, m, p, op) for m, p, op in secured) if f]
    assert not failures, "\n".join(failures)


def test_every_operation_is_isolation_tested():
    secured = [(m, p) for m, p, op in OPERATIONS if op.get("security")]
    assert len(secured) >= 40
    unsecured = {(m, p) for m, p, op in OPERATIONS if not op.get("security") and not p.startswith("/problems")}
    assert unsecured == set(PUBLIC)
