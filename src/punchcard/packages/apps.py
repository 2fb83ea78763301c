from django.apps import AppConfig


class PackagesConfig(AppConfig):
    name = "punchcard.packages"
    label = "packages"

    def ready(self):
        from punchcard.jobs import registry
        from punchcard.jobs.schedules import DailyAt
        from punchcard.ledger import reconcile
        from punchcard.tenancy.selectors import centre_zones_for_job

        from . import reconcile as checks
        from . import tasks

        for check in checks.CHECKS:
            reconcile.register(check)
        registry.register("expiry-sweep", tasks.expiry_sweep, DailyAt(tasks.DAILY_AT, zones=centre_zones_for_job))
        registry.register("reminders", tasks.reminders, DailyAt(tasks.DAILY_AT, zones=centre_zones_for_job))
