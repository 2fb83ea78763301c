from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "punchcard.appointments"
    label = "appointments"

    def ready(self):
        from punchcard import events

        from . import charges

        # In the recording transaction: the commission and the reversals commit or roll back with the change.
        events.on("package.sold", charges.on_package_sold, when=events.RECORDED)
        events.on("redemption.voided", charges.on_redemption_voided, when=events.RECORDED)
