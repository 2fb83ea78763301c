"""The admin shows the catalogue, packages and ledger, and offers no way to change them."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

from punchcard.ledger.models import JournalEntry
from punchcard.packages.models import Package, SessionEntry

from .clinic import Clinic

pytestmark = pytest.mark.django_db


def test_admin_lists_packages_and_ledger_but_cannot_edit(client):
    clinic = Clinic.open()
    plan = clinic.plan("physio-6", price=600000, lines=[clinic.line("physio", sessions=6)])
    package = clinic.sell(plan)
    clinic.redeem(package, "physio")
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
    client.login(username="root", password="pw-for-tests")
    for model in (Package, SessionEntry, JournalEntry):
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(None)
        assert not model_admin.has_change_permission(None)
        assert not model_admin.has_delete_permission(None)
    detail = client.get(f"/admin/packages/package/{package.id}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # the change form has no Save button
    assert client.post(f"/admin/packages/package/{package.id}/delete/", {"post": "yes"}).status_code == 403
    assert Package.objects.filter(pk=package.id).exists()
