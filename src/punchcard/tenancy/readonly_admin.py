"""Read-only Django admin: staff can look, never edit. Every change goes through a service, so no
admin form can bypass the session ledger, the journal or the audit trail."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def register(model, *, list_display=("__str__",), list_filter=(), search_fields=(), exclude=()):
    """Register `model` read-only with a useful list page; `exclude` names fields never shown (secrets)."""
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (ReadOnlyAdmin,),
            {
                "list_display": list_display,
                "list_filter": list_filter,
                "search_fields": search_fields,
                "exclude": exclude,
            },
        ),
    )
