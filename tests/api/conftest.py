"""Fixtures for the HTTP API tests: a seeded clinic, an API key per role, and a client that speaks JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from punchcard.domain.roles import ROLES, Actor, Role
from punchcard.tenancy.services import create_api_key

from ..clinic import Clinic

BASE = "/api/v1"
ADMIN = Actor(label="test-admin", role=Role.ADMIN, source="tests")


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict
    raw: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


@dataclass
class Api:
    """A JSON client for /api/v1 with one tenant's API key (or none)."""

    secret: str | None
    client: Client = field(default_factory=Client)

    def _headers(self, headers: dict | None) -> dict:
        out = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}
        for name, value in (headers or {}).items():
            out["HTTP_" + name.upper().replace("-", "_")] = value
        return out

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict | None = None,
        raw: bytes | None = None,
        headers: dict | None = None,
    ) -> Reply:
        url = path if path.startswith("/api/") else BASE + path
        kwargs = self._headers(headers)
        if method == "GET":
            response = self.client.get(url, params or {}, **kwargs)
        else:
            data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
            response = getattr(self.client, method.lower())(url, data=data, content_type="application/json", **kwargs)
        try:
            parsed = json.loads(response.content) if response.content else None
        except ValueError:
            parsed = None
        return Reply(response.status_code, parsed, dict(response.headers), response.content)

    def get(self, path, **params):
        return self.call("GET", path, params=params)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def api_key(clinic: Clinic, role: str, name: str | None = None) -> str:
    _, secret = create_api_key(tenant=clinic.tenant, actor=ADMIN, name=name or f"{role} key", role=role)
    return secret


def seed(clinic: Clinic) -> dict:
    """Plans and a sold package, enough for every route to have something real to act on."""
    physio = clinic.plan(
        "physio-pack",
        price=800000,
        lines=[clinic.line("physio", sessions=10), clinic.line("doctor", sessions=2)],
        expiry={"kind": "after_start", "count": 90, "unit": "days"},
    )
    family = clinic.plan(
        "family-yoga",
        price=100000,
        lines=[clinic.line("yoga", "pilates", sessions=20)],
        shareable=True,
        max_beneficiaries=4,
        transferable=True,
        scope="all",
    )
    package = clinic.sell(physio)
    shared = clinic.sell(family, patient=clinic.ravi)
    return {"physio": physio, "family": family, "package": package, "shared": shared}


@pytest.fixture
def clinic(db) -> Clinic:
    return Clinic.open()


@pytest.fixture
def data(clinic) -> dict:
    return seed(clinic)


@pytest.fixture
def keys(clinic) -> dict[str, str]:
    return {role: api_key(clinic, role) for role in ROLES}


@pytest.fixture
def as_role(keys):
    return lambda role: Api(keys[role])


@pytest.fixture
def manager(keys) -> Api:
    return Api(keys[Role.MANAGER])


@pytest.fixture
def desk(keys) -> Api:
    return Api(keys[Role.FRONT_DESK])


@pytest.fixture
def admin(keys) -> Api:
    return Api(keys[Role.ADMIN])


@pytest.fixture
def accountant(keys) -> Api:
    return Api(keys[Role.ACCOUNTANT])


@pytest.fixture
def anonymous() -> Api:
    return Api(None)
