from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "punchcard.api"
    label = "api"
