from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "punchcard.claims"
    label = "claims"

    def ready(self):
        from punchcard.billing import hooks

        from . import services

        hooks.register_line_taker(services.hold_for_claim)  # bulk and gift lines become claim codes
