"""Notifications tests use the API tests' clinic, keys and JSON client, and a real webhook receiver."""

from __future__ import annotations

import pytest

from ..api.conftest import Api, admin, clinic, data, desk, keys, manager  # noqa: F401
from .receiver import Receiver


@pytest.fixture
def receiver():
    made = []

    def start(*script, then: int = 204, hang_seconds: float = 3.0) -> Receiver:
        made.append(Receiver(list(script), then=then, hang_seconds=hang_seconds).start())
        return made[-1]

    yield start
    for r in made:
        r.stop()


@pytest.fixture
def allow_private(settings):
    """The receiver listens on loopback: let webhooks go there, as an operator would for local testing."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = 1.0
