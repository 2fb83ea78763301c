"""Every refusal is an RFC 9457 problem with a stable code and the field at fault; no client input gets a 500."""

from __future__ import annotations

import json

import pytest

from punchcard.domain.errors import CODES
from punchcard.kernel.problems import ALL_CODES
from punchcard.packages.models import SessionEntry

pytestmark = pytest.mark.django_db

MEMBERS = {"type", "title", "status", "detail", "code"}


def assert_problem(reply, status: int, code: str, field: str | None = None):
    assert reply.status == status, reply.body
    assert reply.content_type == "application/problem+json; charset=utf-8"
    assert set(reply.body) >= MEMBERS
    assert reply.body["status"] == status and reply.body["code"] == code
    assert reply.body["type"] == f"/api/v1/problems/{code}" and reply.body["title"] == ALL_CODES[code]
    assert isinstance(reply.body["detail"], str) and reply.body["detail"]
    if field is not None:
        assert reply.body["field"] == field, reply.body
    return reply.body


def test_401_without_or_with_a_bad_key(anonymous, clinic):
    body = assert_problem(anonymous.get("/packages"), 401, "unauthenticated")
    assert "Bearer" in body["detail"]
    assert_problem(anonymous.post("/patients", {"external_ref": "x", "name": "y"}), 401, "unauthenticated")
    forged = anonymous.call("GET", "/packages", headers={"Authorization": "Bearer pc_00000000_not-a-real-key-at-all"})
    assert_problem(forged, 401, "unauthenticated")
    assert anonymous.get("/packages").headers["WWW-Authenticate"].startswith("Bearer")


def test_403_names_the_missing_permission(clinic, data, accountant):
    body = assert_problem(
        accountant.post(
            f"/packages/{data['package'].id}/redemptions",
            {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id},
        ),
        403,
        "forbidden",
    )
    assert body["permission"] == "redeem" and "'redeem'" in body["detail"]


def test_404_for_missing_objects(manager, clinic):
    assert_problem(manager.get("/packages/424242"), 404, "not_found", "package_id")
    assert_problem(manager.post("/holds/424242/post"), 404, "not_found", "hold_id")


def test_409_for_conflicts_with_context(clinic, data, desk):
    body = assert_problem(
        desk.post(
            f"/packages/{data['package'].id}/redemptions",
            {"service_id": clinic.services["doctor"].id, "centre_id": clinic.centre.id, "sessions": 5},
        ),
        409,
        "insufficient_sessions",
    )
    assert body["context"] == {"available": 2, "requested": 5}


def test_422_lists_every_offending_field(clinic, data, desk):
    body = assert_problem(
        desk.post(
            f"/packages/{data['package'].id}/redemptions", {"service_id": "physio", "sessions": 0, "colour": "blue"}
        ),
        422,
        "invalid",
    )
    fields = {e["field"]: e["type"] for e in body["errors"]}
    assert fields == {
        "service_id": "int_type",
        "centre_id": "missing",
        "sessions": "greater_than_equal",
        "colour": "extra_forbidden",
    }
    assert body["field"] in fields


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2", b"\xff\xfe", b"1e999999", b'{"a": ' + b"9" * 5000 + b"}"])
def test_malformed_bodies_are_422(clinic, data, desk, raw):
    assert_problem(desk.post(f"/packages/{data['package'].id}/redemptions", raw=raw), 422, "invalid")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"service_id": 2**64, "centre_id": 1}, "service_id"),  # beyond int64
        ({"service_id": -1, "centre_id": 1}, "service_id"),
        ({"service_id": 1.5, "centre_id": 1}, "service_id"),
        ({"service_id": True, "centre_id": 1}, "service_id"),
        ({"service_id": "1", "centre_id": 1}, "service_id"),  # strict: JSON integers only
        ({"service_id": 1, "centre_id": 1, "sessions": 10**30}, "sessions"),
        ({"service_id": 1, "centre_id": 1, "person_id": None, "sessions": None}, "sessions"),
        (["not", "an", "object"], None),
        ("a string", None),
        (None, None),
    ],
)
def test_wrong_types_and_sizes_are_422(clinic, data, desk, body, field):
    raw = json.dumps(body).encode() if body is not None else b""
    assert_problem(desk.post(f"/packages/{data['package'].id}/redemptions", raw=raw), 422, "invalid", field)


@pytest.mark.parametrize(
    "day", ["2026-02-30", "30/03/2026", "2026-3-5", "20260305", 1772323200, "", "0000-01-01", "9999-12-31"]
)
def test_bad_dates_are_422(clinic, data, desk, day):
    assert_problem(
        desk.post(
            f"/packages/{data['package'].id}/holds",
            {"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id, "day": day},
        ),
        422,
        "invalid",
        "day",
    )


def test_unknown_enum_values_are_422(clinic, data, desk, manager):
    assert_problem(
        desk.post(f"/orders/{data['package'].order_line.order_id}/payments", {"method": "bitcoin", "amount": 1}),
        422,
        "invalid",
        "method",
    )
    assert_problem(
        manager.post(f"/plans/{data['physio'].plan_id}/status", {"status": "sleeping"}), 422, "invalid", "status"
    )
    assert_problem(desk.get("/orders", status="lost"), 422, "invalid", "status")


@pytest.mark.parametrize(
    "path",
    [
        "/packages/9223372036854775808",
        "/packages/-3",
        "/packages/0",
        "/packages/99999999999999999999999999",
    ],
)
def test_path_ids_out_of_int64_are_422(manager, clinic, path):
    assert_problem(manager.get(path), 422, "invalid", "package_id")


@pytest.mark.parametrize("path", ["/packages/abc", "/packages/1.5", "/appointments/None"])
def test_a_path_segment_that_is_not_a_number_names_no_resource(manager, clinic, path):
    """Found by schemathesis' stateful links: a null id from a list became /appointments/None (was a 422)."""
    assert_problem(manager.get(path), 404, "not_found")


@pytest.mark.parametrize("text", ["nul\x00byte", "lone \ud800 surrogate"])
def test_text_the_database_cannot_store_is_422(clinic, desk, text):
    raw = json.dumps({"external_ref": "ok-1", "name": text}).encode()  # ensure_ascii keeps the surrogate escaped
    assert_problem(desk.post("/patients", raw=raw), 422, "invalid", "name")


def test_nul_in_a_query_filter_is_422(clinic, desk):
    assert_problem(desk.get("/patients", name="nul\x00byte"), 422, "invalid", "name")


def test_oversized_strings_and_lists_are_422(clinic, data, desk):
    assert_problem(desk.post("/patients", {"external_ref": "x" * 101, "name": "n"}), 422, "invalid", "external_ref")
    items = [{"plan_id": data["physio"].plan_id}] * 21
    assert_problem(
        desk.post("/orders", {"patient_id": clinic.asha.id, "centre_id": clinic.centre.id, "items": items}),
        422,
        "invalid",
        "items",
    )


def test_a_refused_request_writes_nothing(clinic, data, manager):
    package = data["package"]
    before = SessionEntry.objects.count()
    line = package.lines.order_by("id").first()
    # The check fails after the package is locked and read: still nothing is written.
    assert_problem(
        manager.post(f"/packages/{package.id}/adjustments", {"line_id": line.id, "delta": -11, "reason": "typo"}),
        409,
        "adjustment_too_large",
    )
    assert SessionEntry.objects.count() == before


def test_every_domain_code_is_documented(anonymous):
    listed = anonymous.get("/problems")
    assert listed.status == 200
    codes = {p["code"] for p in listed.body}
    assert set(CODES) <= codes and "unauthenticated" in codes
    one = anonymous.get("/problems/insufficient_sessions").body
    assert one["type"] == "/api/v1/problems/insufficient_sessions"
    assert_problem(anonymous.get("/problems/no_such_thing"), 404, "not_found", "code")


def test_a_bug_is_a_500_problem_not_a_traceback(clinic, data, manager, monkeypatch):
    from punchcard.packages import services

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "complete_package", broken)
    reply = manager.post(f"/packages/{data['package'].id}/complete", {"reason": "x"})
    body = assert_problem(reply, 500, "internal")
    assert "boom" not in body["detail"]


def test_a_value_the_database_refuses_is_a_422(clinic, data, manager, monkeypatch):
    from django.db import DataError

    from punchcard.packages import services

    def refuses(**kwargs):
        raise DataError("value too long for type character varying(200)")

    monkeypatch.setattr(services, "complete_package", refuses)
    assert_problem(manager.post(f"/packages/{data['package'].id}/complete", {"reason": "x"}), 422, "invalid")


def test_any_unmatched_api_path_is_a_problem_404_even_with_an_encoded_newline(client):
    """Found by schemathesis: a path with %0A fell through to Django's HTML 404 page."""
    for path in ("/api/v1/receipts/%0A/pdf", "/api/v1/receipts/1/pdf%0A", "/api/v1/no/such/thing"):
        reply = client.get(path)
        assert reply.status_code == 404, path
        assert reply["Content-Type"].startswith("application/problem+json"), path
        assert json.loads(reply.content)["code"] == "not_found"
    # The catch-all must stay reversible: ninja reverses the URL conf to serve the OpenAPI document.
    assert client.get("/api/v1/openapi.json").status_code == 200
