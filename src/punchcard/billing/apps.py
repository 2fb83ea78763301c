from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "punchcard.billing"
    label = "billing"
