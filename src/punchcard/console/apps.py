from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "punchcard.console"
    label = "console"
    verbose_name = "Staff console"
