import importlib
import pkgutil

from django.apps import AppConfig

from . import definitions


class ReportsConfig(AppConfig):
    name = "punchcard.reports"
    label = "reports"

    def ready(self):
        from punchcard.jobs import registry
        from punchcard.jobs.schedules import Every

        from . import tasks

        # Every module there registers its reports as it is imported (they need the models loaded).
        for module in pkgutil.iter_modules(definitions.__path__):
            importlib.import_module(f"{definitions.__name__}.{module.name}")
        registry.register("report-summaries", tasks.report_summaries, Every(minutes=5))
