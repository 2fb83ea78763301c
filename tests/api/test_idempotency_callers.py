"""An Idempotency-Key belongs to the caller who used it: a replay is checked against the route's permission
first, and another caller's key is a key of their own, never a look at someone else's stored response."""

from __future__ import annotations

import pytest

from punchcard.api.router import api
from punchcard.kernel.idempotency import idempotent
from punchcard.kernel.models import IdempotencyRecord
from punchcard.packages.models import SessionEntry

from .conftest import Api, api_key
from .test_roles import WRITES

pytestmark = pytest.mark.django_db


def adjustment(data) -> tuple[str, dict]:
    package = data["package"]
    line = package.lines.order_by("id").first()
    return f"/packages/{package.id}/adjustments", {"line_id": line.id, "delta": 1, "reason": "goodwill"}


def test_a_front_desk_key_cannot_replay_a_managers_adjustment(data, manager, desk):
    path, body = adjustment(data)
    first = manager.post(path, body, headers={"Idempotency-Key": "goodwill-1"})
    assert first.status == 201
    entries = SessionEntry.objects.count()
    replay = desk.post(path, body, headers={"Idempotency-Key": "goodwill-1"})
    assert (replay.status, replay.body["code"]) == (403, "forbidden")
    assert "Idempotent-Replayed" not in replay.headers
    assert replay.raw != first.raw
    assert SessionEntry.objects.count() == entries


def test_two_callers_with_one_key_each_get_their_own_answer(clinic, data, manager):
    path, body = adjustment(data)
    other = Api(api_key(clinic, "manager", name="second manager key"))
    first = manager.post(path, body, headers={"Idempotency-Key": "shared-key"})
    second = other.post(path, body, headers={"Idempotency-Key": "shared-key"})
    assert (first.status, second.status) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers  # a fresh request, not the other key's response
    assert first.body["id"] != second.body["id"]
    assert IdempotencyRecord.objects.filter(key="shared-key").count() == 2
    again = other.post(path, body, headers={"Idempotency-Key": "shared-key"})
    assert (again.raw, again.headers.get("Idempotent-Replayed")) == (second.raw, "true")


def test_a_route_must_say_which_permission_its_replays_need():
    with pytest.raises(TypeError):
        idempotent(lambda request: None)


def test_every_idempotent_route_declares_the_permission_the_role_matrix_expects():
    expected = {(method, template): perm for method, template, perm, _ in WRITES}
    declared = {}
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                perm = getattr(operation.view_func, "idempotent_perm", None)
                if perm is not None:
                    for method in operation.methods:
                        declared[(method, (prefix + path).replace("{int:", "{"))] = perm
    assert declared, "no idempotent routes found"
    wrong = {route: perm for route, perm in declared.items() if route in expected and expected[route] != perm}
    assert not wrong
    assert len([r for r in declared if r in expected]) >= 24  # the core apps' writes the matrix lists
