from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "punchcard.tenancy"
    label = "tenancy"
