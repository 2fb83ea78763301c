from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "punchcard.packages"
    label = "packages"
