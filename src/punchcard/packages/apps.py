from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "punchcard.packages"
    label = "packages"

    def ready(self):
        from punchcard.ledger import reconcile

        from . import reconcile as checks

        for check in checks.CHECKS:
            reconcile.register(check)
