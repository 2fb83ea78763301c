"""Existing tenants get the chart's new membership accounts (new tenants get them with the chart)."""

from django.db import migrations

# role → (code, name, type), as domain.posting.DEFAULT_CHART has them at this migration.
NEW_ACCOUNTS = {
    "membership_deferred": ("2110", "Deferred membership revenue (contract liability)", "Liabilities"),
    "membership_revenue": ("4300", "Membership revenue", "Income"),
    "bad_debt": ("5100", "Bad debt written off", "Expenses"),
}


def add_accounts(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    Tenant = apps.get_model("tenancy", "Tenant")
    for tenant in Tenant.objects.all():
        roles = set(Account.objects.filter(tenant=tenant).values_list("role", flat=True))
        codes = set(Account.objects.filter(tenant=tenant).values_list("code", flat=True))
        for role, (code, name, kind) in NEW_ACCOUNTS.items():
            if role in roles:
                continue
            while code in codes:  # a tenant's own account took the code: the next free one
                code = str(int(code) + 1)
            Account.objects.create(tenant=tenant, role=role, code=code, name=name, type=kind)
            codes.add(code)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_balance_checked_once_per_entry"), ("tenancy", "0004_tenant_zone_and_sandbox")]

    operations = [migrations.RunPython(add_accounts, migrations.RunPython.noop)]
