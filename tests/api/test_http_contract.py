"""The HTTP layer around the routes answers problem+json too: 413, 415, 405, HEAD and OPTIONS."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from punchcard.packages.models import SessionEntry

from .conftest import Api
from .test_problems import assert_problem

pytestmark = pytest.mark.django_db


def _redeem_body(clinic) -> bytes:
    return json.dumps({"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id}).encode()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_a_413_problem_and_writes_nothing(clinic, data, desk):
    before = SessionEntry.objects.count()
    raw = json.dumps({"service_id": clinic.services["physio"].id, "centre_id": clinic.centre.id, "x": "a" * 2000})
    body = assert_problem(
        desk.post(f"/packages/{data['package'].id}/redemptions", raw=raw.encode()), 413, "too_large", "body"
    )
    assert body["context"]["limit"] == 1000
    assert SessionEntry.objects.count() == before


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "",
    ],
)
def test_a_body_that_is_not_json_is_a_415_and_writes_nothing(clinic, data, desk, content_type):
    before = SessionEntry.objects.count()
    response = desk.client.post(
        f"/api/v1/packages/{data['package'].id}/redemptions",
        data=_redeem_body(clinic),
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {desk.secret}",
    )
    assert response.status_code == 415, response.content
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"
    assert json.loads(response.content)["code"] == "unsupported_media_type"
    assert SessionEntry.objects.count() == before


def test_json_with_a_charset_and_bodyless_posts_still_work(clinic, data, desk, manager):
    response = desk.client.post(
        f"/api/v1/packages/{data['package'].id}/redemptions",
        data=_redeem_body(clinic),
        content_type="application/json; charset=utf-8",
        HTTP_AUTHORIZATION=f"Bearer {desk.secret}",
    )
    assert response.status_code == 201, response.content
    # An empty POST needs no Content-Type at all.
    response = manager.client.post(
        "/api/v1/packages/999999/cancel", data=b"", content_type="", HTTP_AUTHORIZATION=f"Bearer {manager.secret}"
    )
    assert response.status_code != 415


def test_a_method_the_route_does_not_answer_is_a_405_problem_with_allow(manager):
    reply = manager.call("DELETE", "/packages")
    assert_problem(reply, 405, "method_not_allowed")
    assert reply.headers["Allow"] == "GET"
    reply = manager.call("PUT", "/patients")
    assert_problem(reply, 405, "method_not_allowed")
    assert set(reply.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_head_answers_like_get_without_a_body(manager, data):
    get = manager.client.get("/api/v1/packages", HTTP_AUTHORIZATION=f"Bearer {manager.secret}")
    head = manager.client.head("/api/v1/packages", HTTP_AUTHORIZATION=f"Bearer {manager.secret}")
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Type"] == get["Content-Type"]
    assert int(head["Content-Length"]) == len(get.content)
    anonymous = Api(None).client.head("/api/v1/packages")
    assert anonymous.status_code == 401 and anonymous["Content-Type"].startswith("application/problem+json")


def test_options_lists_the_methods(anonymous):
    response = anonymous.client.options("/api/v1/patients")
    assert response.status_code == 204
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST", "HEAD", "OPTIONS"}
    missing = anonymous.client.options("/api/v1/no/such/thing")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("application/problem+json")


def test_the_new_codes_are_documented(anonymous):
    codes = {item["code"] for item in anonymous.get("/problems").body}
    assert {"too_large", "unsupported_media_type", "method_not_allowed", "bad_request"} <= codes
