from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "punchcard.promotions"
    label = "promotions"

    def ready(self):
        from punchcard.billing import hooks

        from . import services

        hooks.register_pricer(services.offers_for_order)  # promotions price a sale
