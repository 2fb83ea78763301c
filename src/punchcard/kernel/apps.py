from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "punchcard.kernel"
    # The label the idempotency records were created under (table api_idempotencyrecord, migrations "api").
    label = "api"
    verbose_name = "HTTP kernel"
