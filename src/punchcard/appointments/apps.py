from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "punchcard.appointments"
    label = "appointments"
