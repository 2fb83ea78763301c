from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "punchcard.tenancy"
    label = "tenancy"

    def ready(self):
        from punchcard.jobs import scope

        from .selectors import tenants_for_job

        scope.install(tenants_for_job)  # which tenants a job below tenancy works for
