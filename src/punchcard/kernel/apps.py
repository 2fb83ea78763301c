from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "punchcard.kernel"
    # The label the idempotency records were created under (table api_idempotencyrecord, migrations "api").
    label = "api"
    verbose_name = "HTTP kernel"

    def ready(self):
        from punchcard.jobs import registry
        from punchcard.jobs.schedules import Every

        from . import tasks

        registry.register("idempotency-purge", tasks.purge_idempotency_records, Every(minutes=60))
