"""Fixtures of the memberships tests: the stand-in provider, and the API callers of tests/api."""

from __future__ import annotations

import pytest

from punchcard.domain.roles import Role
from punchcard.memberships.services import charging

from ..api.conftest import Api, api_key
from ..clinic import Clinic
from .support import StandInProvider


@pytest.fixture
def provider(monkeypatch) -> StandInProvider:
    stand_in = StandInProvider()
    monkeypatch.setattr(charging, "provider_charge", stand_in.charge)
    return stand_in


@pytest.fixture
def clinic(db) -> Clinic:
    return Clinic.open()


@pytest.fixture
def manager(clinic) -> Api:
    return Api(api_key(clinic, Role.MANAGER))


@pytest.fixture
def desk(clinic) -> Api:
    return Api(api_key(clinic, Role.FRONT_DESK))
