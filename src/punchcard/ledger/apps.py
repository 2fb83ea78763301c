from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "punchcard.ledger"
    label = "ledger"
