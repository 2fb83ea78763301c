from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "punchcard.jobs"
    label = "jobs"

    def ready(self):
        import datetime as dt

        from . import registry, tasks
        from .schedules import DailyAt

        registry.register("jobs-housekeeping", tasks.housekeeping, DailyAt(dt.time(3, 0)), per_tenant=False)
