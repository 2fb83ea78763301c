"""Every existing tenant's chart gains the opening balance account imports post against."""

from django.db import migrations

ROLE, CODE, NAME, TYPE = "opening_balance", "3900", "Opening balances (brought from the previous system)", "Equity"


def add_account(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    tenant_ids = set(Account.objects.values_list("tenant_id", flat=True))
    has_role = set(Account.objects.filter(role=ROLE).values_list("tenant_id", flat=True))
    code_taken = set(Account.objects.filter(code=CODE).values_list("tenant_id", flat=True))
    Account.objects.bulk_create(
        # A tenant that used 3900 for something of its own gets 3999 (tenants may rename; roles never change).
        Account(tenant_id=tid, role=ROLE, code=CODE if tid not in code_taken else "3999", name=NAME, type=TYPE)
        for tid in sorted(tenant_ids - has_role)
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_membership_accounts")]

    operations = [migrations.RunPython(add_account, migrations.RunPython.noop)]
