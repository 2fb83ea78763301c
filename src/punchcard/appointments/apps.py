from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "punchcard.appointments"
    label = "appointments"

    def ready(self):
        from punchcard.packages import signals

        from . import charges

        signals.package_activated.connect(charges.on_package_activated, dispatch_uid="appointments.sale_commission")
        signals.redemption_voided.connect(charges.on_redemption_voided, dispatch_uid="appointments.void_reversals")
