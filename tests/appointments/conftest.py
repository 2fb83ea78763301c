"""Appointment scenario tests: every test leaves the one clock as it found it (unfrozen)."""

import pytest

from punchcard import clock


@pytest.fixture(autouse=True)
def _unfreeze_clock():
    yield
    clock.set_now(None)
