"""Security headers: a Content-Security-Policy on every HTML page (the API docs and the admin still load),
and `Cache-Control: no-store` on JSON and CSV answers to authenticated callers."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from punchcard.kernel.html import style_hashes

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = [p.strip().split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def assert_strict(policy: dict[str, list[str]]) -> None:
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no other host
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


def test_the_api_docs_page_loads_under_the_policy_with_its_own_assets():
    client = Client()
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert_strict(directives(docs))
    html = docs.content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link[^>]+href="([^"]+\.css)"', html)
    assert scripts and styles
    assert "<script>" not in html and "<style" not in html  # nothing inline for the policy to block
    for asset in scripts + styles:
        assert asset.startswith("/static/"), asset  # same origin: allowed by 'self'
    assert client.get("/api/v1/openapi.json").status_code == 200  # what the page fetches (connect-src 'self')


def test_the_admin_works_under_the_policy(client):
    login = client.get("/admin/login/")
    assert login.status_code == 200
    assert_strict(directives(login))
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-42")
    client.force_login(get_user_model().objects.get(username="root"))
    index = client.get("/admin/")
    assert index.status_code == 200
    assert_strict(directives(index))
    assert "<script>" not in index.content.decode()


def test_a_receipt_allows_exactly_its_own_inline_style(clinic, data, desk):
    visit = clinic.redeem(data["package"], "physio")
    receipt = desk.post("/receipts", {"kind": "redemption", "subject_id": visit.id})
    html = desk.client.get(receipt.body["html_url"], HTTP_AUTHORIZATION=f"Bearer {desk.secret}")
    assert html.status_code == 200
    policy = directives(html)
    assert_strict(policy)
    hashes = style_hashes(html.content.decode())
    assert hashes and policy["style-src"] == ["'self'", *hashes]


def test_authenticated_json_is_not_stored_and_public_json_may_be(data, manager, anonymous):
    me = manager.get("/me")
    assert me.status == 200
    assert "no-store" in me.headers["Cache-Control"]
    package = manager.get(f"/packages/{data['package'].id}")
    assert "no-store" in package.headers["Cache-Control"]
    report = manager.call("GET", "/reports/usage", params={"from": "2026-03-01", "to": "2026-03-31", "format": "csv"})
    assert report.status == 200 and "no-store" in report.headers["Cache-Control"]
    refused = anonymous.get("/me")
    assert refused.status == 401 and "no-store" not in refused.headers.get("Cache-Control", "")
    schema = Client().get("/api/v1/openapi.json")
    assert "no-store" not in schema.headers.get("Cache-Control", "")


def test_a_template_that_asks_for_a_nonce_gets_it_in_its_own_policy(rf):
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse

    def page(request):
        return HttpResponse(f'<script nonce="{request.csp_nonce}">go()</script>')

    request = rf.get("/console/")
    response = CSPMiddleware(page)(request)
    nonce = str(request.csp_nonce)
    assert f"'nonce-{nonce}'" in directives(response)["script-src"]
    assert f'nonce="{nonce}"' in response.content.decode()
