from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "punchcard.claims"
    label = "claims"

    def ready(self):
        from punchcard.billing import hooks
        from punchcard.ledger import reconcile

        from . import reconcile as checks
        from . import services

        hooks.register_line_taker(services.hold_for_claim)  # bulk and gift lines become claim codes
        for check in checks.CHECKS:
            reconcile.register(check)
