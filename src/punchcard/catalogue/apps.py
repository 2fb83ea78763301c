from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "punchcard.catalogue"
    label = "catalogue"
