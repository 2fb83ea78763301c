from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "punchcard.imports"
    label = "imports"
