"""API keys are stored as HMAC-SHA256 under the server's pepper, chosen secrets must be long and random,
keys stored before (plain SHA-256) keep working and are re-hashed at first use, and no digest is shown."""

from __future__ import annotations

import hashlib
import hmac
import io

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from punchcard.cli.base import CliError
from punchcard.tenancy.models import ApiKey
from punchcard.tenancy.services import authenticate_api_key

from .conftest import Api, api_key

pytestmark = pytest.mark.django_db


def test_the_stored_digest_is_keyed_by_the_servers_pepper(clinic):
    secret = api_key(clinic, "manager")
    key = ApiKey.objects.get(prefix=secret[:11])
    assert key.digest != hashlib.sha256(secret.encode()).hexdigest()  # a leaked table alone cannot test guesses
    assert key.digest == hmac.new(settings.API_KEY_PEPPER.encode(), secret.encode(), hashlib.sha256).hexdigest()
    assert Api(secret).get("/me").status == 200
    with override_settings(API_KEY_PEPPER="another-server-entirely-" + "q" * 40):
        assert Api(secret).get("/me").status == 401


def test_a_key_stored_before_the_pepper_keeps_working_and_is_rehashed(clinic):
    secret = api_key(clinic, "front_desk")
    ApiKey.objects.filter(prefix=secret[:11]).update(
        digest=hashlib.sha256(secret.encode()).hexdigest(), keyed=False
    )  # as the previous release stored it
    assert Api(secret).get("/me").status == 200
    key = ApiKey.objects.get(prefix=secret[:11])
    assert key.keyed and key.digest != hashlib.sha256(secret.encode()).hexdigest()
    assert authenticate_api_key(secret) == key
    assert authenticate_api_key(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


@pytest.mark.parametrize(
    ("secret", "rule"),
    [
        ("pc_0123abcd_" + "x" * 24, "at least 32 url-safe characters"),
        ("pc_0123abcd_" + "k" * 40, "at least 16 different characters"),
        ("pc_0123abcd_correcthorsebatterystaplecorrecthorse", "at least 16 different characters"),
    ],
)
def test_a_short_or_guessable_chosen_secret_is_refused(clinic, secret, rule):
    err = io.StringIO()
    with pytest.raises(CliError) as refused:
        call_command(
            "apikey",
            *("create", "--tenant", clinic.tenant.slug, "--name", "ehr", "--role", "manager", "--secret", secret),
            stdout=io.StringIO(),
            stderr=err,
        )
    assert refused.value.code == "invalid" and rule in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1
    assert not ApiKey.objects.filter(name="ehr").exists()


def test_the_admin_never_shows_a_digest(clinic, client):
    secret = api_key(clinic, "manager")
    key = ApiKey.objects.get(prefix=secret[:11])
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-42"))
    for url in ("/admin/tenancy/apikey/", f"/admin/tenancy/apikey/{key.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200
        assert key.digest not in page.content.decode() and key.prefix in page.content.decode()
