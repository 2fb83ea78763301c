import importlib
import pkgutil

from django.apps import AppConfig

from . import definitions


class ReportsConfig(AppConfig):
    name = "punchcard.reports"
    label = "reports"

    def ready(self):
        # Every module there registers its reports as it is imported (they need the models loaded).
        for module in pkgutil.iter_modules(definitions.__path__):
            importlib.import_module(f"{definitions.__name__}.{module.name}")
