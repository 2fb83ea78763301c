from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "punchcard.portal"
    label = "portal"
    verbose_name = "Patient portal"
