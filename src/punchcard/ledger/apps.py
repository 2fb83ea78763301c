from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "punchcard.ledger"
    label = "ledger"

    def ready(self):
        from punchcard import events

        from . import services

        # A new tenant gets its chart of accounts in the transaction that creates it.
        events.on("tenant.created", lambda event: services.ensure_chart(tenant=event.subject), when=events.RECORDED)
