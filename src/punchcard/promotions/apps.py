from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "punchcard.promotions"
    label = "promotions"

    def ready(self):
        from punchcard.billing import hooks
        from punchcard.ledger import reconcile

        from . import reconcile as checks
        from . import services

        hooks.register_pricer(services.offers_for_order)  # promotions price a sale
        hooks.register_line_taker(services.hold_for_claim)  # bulk and gift lines become claim codes
        for check in checks.CHECKS:
            reconcile.register(check)
