"""Fixtures for the portal's tests: the demo clinic at a fixed instant, links for its patients, and a browser
(Django's test client) that opened one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from punchcard import clock
from punchcard.cli.demo import KOLKATA, build_demo
from punchcard.domain.roles import cli_actor
from punchcard.tenancy import portal_links

# 20 May 2026, 9:00 in Mumbai, as the console's tests: Asha has used 4 of her 10 physiotherapy sessions.
NOW = dt.datetime(2026, 5, 20, 9, 0, tzinfo=KOLKATA)


@pytest.fixture
def frozen():
    clock.set_now(NOW)
    yield NOW
    clock.set_now(None)


@pytest.fixture
def demo(db, frozen):
    return build_demo(NOW)


@pytest.fixture
def link_for(demo):
    """link_for("asha") → a new portal link for that demo patient, made as the CLI makes it."""

    def make(key: str, **kw):
        return portal_links.create_portal_link(
            tenant=demo.tenant, actor=cli_actor(), patient_id=demo.patients[key].id, **kw
        )

    return make


@pytest.fixture
def visit(link_for):
    """visit("asha") → a client that opened a new link of hers (and followed it to her page)."""

    def open_for(key: str, **client_kw) -> Client:
        client = Client(**client_kw)
        opened = client.get(portal_links.path(link_for(key)))
        assert opened.status_code == 302 and opened["Location"] == "/portal/"
        return client

    return open_for
