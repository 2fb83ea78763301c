from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "punchcard.billing"
    label = "billing"

    def ready(self):
        from punchcard.ledger import reconcile

        from . import hooks, providers
        from . import reconcile as checks
        from .models import OrderLineKind
        from .providers.manual import ManualProvider
        from .providers.test import TestProvider
        from .services import activation, top_up, upgrade

        # Billing's own line kinds go through the same registry as another app's (a membership line),
        # registered the same way: one path for every kind, and this is the list of billing's.
        hooks.register_line_kind(OrderLineKind.PACKAGE, activation.activate_package_line)
        hooks.register_line_kind(OrderLineKind.TOP_UP, top_up.apply_top_up)
        hooks.register_line_kind(OrderLineKind.UPGRADE, upgrade.open_upgraded_package)
        # The built-in payment providers; a processor's adapter registers the same way from its own app.
        providers.register(ManualProvider())
        providers.register(TestProvider())
        for check in checks.CHECKS:
            reconcile.register(check)
