from django.apps import AppConfig


class MembershipsConfig(AppConfig):
    name = "punchcard.memberships"
    label = "memberships"

    def ready(self):
        from punchcard.jobs import registry
        from punchcard.jobs.schedules import DailyAt
        from punchcard.ledger import reconcile
        from punchcard.tenancy.selectors import centre_zones_for_job

        from . import reconcile as checks
        from . import tasks

        for check in checks.CHECKS:
            reconcile.register(check)
        daily = DailyAt(tasks.DAILY_AT, zones=centre_zones_for_job)
        registry.register("membership-billing", tasks.membership_billing, daily)
        registry.register("membership-recognition", tasks.membership_recognition, daily)
        registry.register("membership-notices", tasks.membership_notices, daily)
