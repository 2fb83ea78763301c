from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "punchcard.jobs"
    label = "jobs"
