"""Browser tests: Debian's Chromium driven by Playwright against a live server on the test database.

The browser is the machine's own (`/usr/bin/chromium`, installed by scripts/test.sh when missing); no
browser is ever downloaded. Each test gets the demo clinic in the live server's database, with console
passwords for its staff. Screenshots go to tests/browser/screenshots/ (ignored by git), to be looked at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from punchcard.cli.demo import build_demo
from punchcard.tenancy.models import StaffMember

CHROMIUM = os.environ.get("PUNCHCARD_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "front-desk-test-password-1"
# The closed network refuses Chromium's background connections; these keep it from trying.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; the Django calls the tests make around it are
# ordinary blocking ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _watched_page(chromium, viewport: dict):
    context = chromium.new_context(viewport=viewport, locale="en-IN")
    page = context.new_page()
    page.set_default_timeout(30_000)  # a shared machine under load answers slowly
    # Whatever the Content-Security-Policy blocked on any page of the test (an inline script, handler or style)
    # is a page that does not work as written: the browser's own report fails the test.
    blocked = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and blocked.append(
                f"{message.location.get('url')}:{message.location.get('lineNumber')} {message.text[:80]}"
            )
        ),
    )
    yield page
    context.close()
    assert blocked == [], blocked


@pytest.fixture
def page(chromium):
    yield from _watched_page(chromium, {"width": 1024, "height": 768})


@pytest.fixture
def phone(chromium):
    """A phone-sized window (375 × 812), for the patient portal."""
    yield from _watched_page(chromium, {"width": 375, "height": 812})


@pytest.fixture
def demo(transactional_db, live_server):
    """The demo clinic in the live server's database; its staff can log in with PASSWORD."""
    built = build_demo()
    for member in StaffMember.objects.filter(tenant=built.tenant, user__isnull=False).select_related("user"):
        member.user.set_password(PASSWORD)
        member.user.save(update_fields=["password"])
    built.url = live_server.url
    return built


def log_in(page, demo, username: str) -> None:
    page.goto(f"{demo.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{demo.url}/")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page) -> None:
    """No serious or critical axe-core violation on the page as it stands (axe-playwright-python)."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert bad == [], "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )
