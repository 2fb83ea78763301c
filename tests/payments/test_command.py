"""`punchcard providers`: the list, the tenant's account, and a signed test event that the webhook route
accepts once."""

from __future__ import annotations

import io
import shlex

import pytest
from django.core.management import call_command

from punchcard.billing.models import ProviderAccount, ProviderEvent

from ..api.conftest import Api

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("providers", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_list_names_both_providers(clinic):
    listed = run("list", "--tenant", clinic.tenant.slug)
    assert "manual" in listed and "test" in listed and "the desk records it" in listed


def test_a_signed_test_event_is_accepted_once(clinic):
    printed = run(
        "test-event",
        "--tenant",
        clinic.tenant.slug,
        "--type",
        "charge.failed",
        "--key",
        "renewal-1",
        "--failure-code",
        "insufficient_funds",
        "--event-id",
        "evt_cli_1",
    )
    words = shlex.split(printed)
    assert words[:5] == ["curl", "-sS", "-X", "POST", "http://127.0.0.1:8000/api/v1/providers/test/webhooks"]
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    body = words[words.index("--data") + 1].encode()
    account = ProviderAccount.objects.get(tenant=clinic.tenant, provider="test")
    assert account.account.encode() in body

    reply = Api(None).post("/providers/test/webhooks", raw=body, headers=headers)
    assert (reply.status, reply.body["duplicate"]) == (200, False)
    assert Api(None).post("/providers/test/webhooks", raw=body, headers=headers).body["duplicate"] is True
    stored = ProviderEvent.objects.get()
    assert stored.data == {"idempotency_key": "renewal-1", "failure_code": "insufficient_funds"}
    assert run("account", "--tenant", clinic.tenant.slug).startswith(f"account: {account.account}\n")
