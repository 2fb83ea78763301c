from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "punchcard.reports"
    label = "reports"
