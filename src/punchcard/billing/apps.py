from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "punchcard.billing"
    label = "billing"

    def ready(self):
        from punchcard.ledger import reconcile

        from . import reconcile as checks

        for check in checks.CHECKS:
            reconcile.register(check)
