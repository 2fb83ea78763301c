"""Schemathesis fuzzes every operation of the OpenAPI document against the in-process WSGI app.

It runs the repository's schemathesis.toml, the configuration an outside `schemathesis run --checks all`
uses: every check (no 5xx; status codes, content types, headers and bodies as declared; schema-valid
data accepted and schema-invalid data refused; 405 with Allow for undeclared methods; …), positive and
negative data, and the stateful links between operations. Each operation is called with a manager's API
key of a seeded tenant. The examples per operation are bounded so the suite stays quick on both databases.

Generated ids are mostly ones that do not exist (404s); hooks swap in the seeded tenant's real ids
half of the time, so the success paths (redeem, hold, void, transfer, …) are fuzzed too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from punchcard.tenancy.models import Role
from punchcard.tenancy.services import create_api_key
from punchcard.wsgi import application

from ..clinic import Clinic
from .conftest import ADMIN, seed

CONFIG = SchemathesisConfig.from_path(Path(__file__).resolve().parents[2] / "schemathesis.toml")
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)
# The manager's key, passed with each call as `-H "Authorization: Bearer …"` passes it to an outside run:
# schemathesis then knows the credentials are explicit (its auth check probes without and with bad ones).
SECRET = "pc_5c4e3a7b_schemathesis-manager-key-for-the-test-suite"
AUTH = {"Authorization": f"Bearer {SECRET}"}
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]

# Filled by the fixture before Hypothesis generates anything: parameter name → the seeded ids.
SEEDED: dict[str, list[int]] = {}


def _swap(values: dict, names: dict[str, list[int]]):
    """A strategy for `values` as generated, or with every known id replaced by a real one."""
    if not isinstance(values, dict):
        return st.just(values)
    # Only ids the schema allows: a negative case's out-of-range id must stay out of range.
    known = [k for k, v in values.items() if k in names and names[k] and type(v) is int and 1 <= v <= 2**63 - 1]
    if not known:
        return st.just(values)
    real = st.fixed_dictionaries({k: st.sampled_from(names[k]) for k in known}).map(lambda ids: {**values, **ids})
    return st.one_of(st.just(values), real)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    return _swap(path_parameters, SEEDED)


@schema.hook
def flatmap_query(context, query):
    return _swap(
        query,
        {
            "patient": SEEDED.get("patient_id", []),
            "centre": SEEDED.get("centre_id", []),
            "plan": SEEDED.get("plan_id", []),
        },
    )


@schema.hook
def flatmap_body(context, body):
    return _swap(
        body, {**SEEDED, "person_id": SEEDED.get("patient_id", []), "to_patient_id": SEEDED.get("patient_id", [])}
    )


@pytest.fixture
def in_process_requests():
    """Requests run on the test's own connection, inside its transaction (rolled back afterwards).

    Django closes a connection that is not in autocommit when a request starts or finishes; the
    test client turns that off for the same reason, and so do we for schemathesis' WSGI client.
    Rolling back is much faster than flushing every table after each operation's test (PostgreSQL).
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def manager_key(db, in_process_requests):
    clinic = Clinic.open()
    data = seed(clinic)
    package, shared = data["package"], data["shared"]
    redemption = clinic.redeem(package, "physio")
    hold = clinic.hold(package, "physio", clinic.now.date())
    SEEDED.clear()
    SEEDED.update(
        {
            "package_id": [package.id, shared.id],
            "patient_id": [p.id for p in clinic.patients.values()],
            "centre_id": [clinic.centre.id, clinic.other_centre.id],
            "service_id": [s.id for s in clinic.services.values()],
            "plan_id": [data["physio"].plan_id, data["family"].plan_id],
            "order_id": [package.order_line.order_id],
            "redemption_id": [redemption.id],
            "hold_id": [hold.id],
            "line_id": list(package.lines.values_list("id", flat=True)),
        }
    )
    create_api_key(tenant=clinic.tenant, actor=ADMIN, name="schemathesis", role=Role.MANAGER, secret=SECRET)
    yield SECRET
    SEEDED.clear()


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=HEALTH, derandomize=True)
def test_every_operation_conforms_to_its_schema(case, manager_key):
    # No explicit checks: every check schemathesis.toml enables, with its per-operation settings.
    case.call_and_validate(headers=AUTH)


@pytest.mark.django_db
def test_stateful_links_between_operations(manager_key):
    """Sequences that feed one response's ids into the next request (create, then read, act, list)."""

    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": AUTH}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # As call_and_validate does: the checks learn which headers were given explicitly.
            case.validate_response(response, headers=AUTH, additional_checks=additional_checks, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=15, stateful_step_count=6, deadline=None, suppress_health_check=HEALTH, derandomize=True
        )
    )
