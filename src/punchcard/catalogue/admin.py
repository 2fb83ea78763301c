from punchcard.tenancy.readonly_admin import register

from .models import PackageType, Plan, PlanLine, PlanVersion

register(PackageType, list_display=("name", "tenant"))
register(Plan, list_display=("code", "status", "created_at", "tenant"), list_filter=("tenant", "status"))
register(
    PlanVersion,
    list_display=("name", "number", "price", "currency", "scope", "created_at"),
    list_filter=("tenant",),
    search_fields=("name",),
)
register(PlanLine, list_display=("label", "version", "sessions", "bonus_sessions", "patient_pays"))
