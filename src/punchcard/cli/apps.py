from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "punchcard.cli"
    label = "cli"
