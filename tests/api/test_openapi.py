"""The OpenAPI document is served, complete, and honest about every response a route can give."""

from __future__ import annotations

import pytest
from django.test import Client

from punchcard.api.openapi import SERVER_LIMITS
from punchcard.api.router import api

pytestmark = pytest.mark.django_db

SCHEMA = api.get_openapi_schema(path_prefix="")
OPERATIONS = [(m.upper(), p, op) for p, item in SCHEMA["paths"].items() for m, op in item.items()]


def test_openapi_31_and_docs_are_served():
    client = Client()
    reply = client.get("/api/v1/openapi.json")
    assert reply.status_code == 200
    document = reply.json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/packages/{package_id}/redemptions" in document["paths"]
    assert client.get("/api/v1/docs").status_code == 200


# POSTs that take no Idempotency-Key because repeating them is safe by itself: an import file is keyed by
# its rows' source ids (a second run creates nothing), so no 409 is answered.
RERUNNABLE_BY_ITSELF = {"/imports"}


def test_every_authenticated_operation_declares_its_errors_as_problem_json():
    for method, path, op in OPERATIONS:
        if not op.get("security"):
            continue
        statuses = {int(s) for s in op["responses"]}
        assert 401 in statuses, (method, path)
        if op.get("parameters") or "requestBody" in op:
            assert {403, 422} <= statuses, (method, path, statuses)  # role checks, input validation
        if "{" in path:
            assert 404 in statuses, (method, path, statuses)
        if method == "POST" and path not in RERUNNABLE_BY_ITSELF:
            assert 409 in statuses, (method, path, statuses)  # at least idempotency_conflict
        for status, response in op["responses"].items():
            if status in SERVER_LIMITS:  # answered by gunicorn before Punchcard sees the request
                assert response == SERVER_LIMITS[status], (method, path, status)
            elif int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
                assert response["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


# The routers this suite owns; other apps' routers are checked by the generated tests (isolation, fuzzing).
CORE = ("punchcard_tenancy_api_", "punchcard_catalogue_api_", "punchcard_billing_api_", "punchcard_packages_api_")


def operations():
    for router in api._get_bound_routers():
        for path_view in router.path_operations.values():
            yield from path_view.operations


def test_the_idempotency_key_is_documented_exactly_where_it_is_honoured():
    documented = {
        op["operationId"]
        for _, _, op in OPERATIONS
        if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    }
    honoured = {api.get_openapi_operation_id(o) for o in operations() if getattr(o.view_func, "idempotent", False)}
    assert documented == honoured


def test_every_core_post_is_idempotent():
    for operation in operations():
        if "POST" in operation.methods and api.get_openapi_operation_id(operation).startswith(CORE):
            assert getattr(operation.view_func, "idempotent", False), operation.view_func.__name__


def test_money_is_documented_as_integer_minor_units():
    money = SCHEMA["components"]["schemas"]["Money"]
    assert money["properties"]["amount"]["type"] == "integer"
    assert set(money["required"]) == {"amount", "currency", "display"}
