"""The front desk in a real browser: log in, find Asha Rao by her reference, read her balance."""

from __future__ import annotations

import pytest

from .conftest import assert_accessible, log_in, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_desk_finds_asha_by_her_reference_and_reads_4_of_10_used(page, demo):
    log_in(page, demo, "dev")
    assert_accessible(page)
    screenshot(page, "today")
    page.get_by_label("Find a patient").fill("P-1001")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Asha Rao").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Asha Rao")
    packages = page.get_by_role("region", name="Packages")
    assert "Physiotherapy 4 of 10 used, 6 remaining" in packages.inner_text()
    assert_accessible(page)
    screenshot(page, "patient")


def test_a_wrong_password_is_refused_with_a_message_and_no_session(page, demo):
    page.goto(f"{demo.url}/login/")
    page.get_by_label("Username").fill("dev")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert "correct username and password" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    page.goto(f"{demo.url}/")
    assert page.url.startswith(f"{demo.url}/login/")
