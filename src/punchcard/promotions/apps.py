from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "punchcard.promotions"
    label = "promotions"
