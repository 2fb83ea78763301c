from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "punchcard.claims"
    label = "claims"

    def ready(self):
        import datetime as dt

        from punchcard.billing import hooks
        from punchcard.jobs import registry
        from punchcard.jobs.schedules import DailyAt
        from punchcard.ledger import reconcile

        from . import reconcile as checks
        from . import services, tasks

        hooks.register_line_taker(services.hold_for_claim)  # bulk and gift lines become claim codes
        for check in checks.CHECKS:
            reconcile.register(check)
        registry.register("claim-code-expiry", tasks.claim_code_expiry, DailyAt(dt.time(0, 5)))
