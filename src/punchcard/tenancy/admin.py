from punchcard.tenancy.readonly_admin import register

from .models import ApiKey, AuditEvent, Centre, Patient, Service, StaffMember, Tenant

register(Tenant, list_display=("name", "slug", "currency", "locale"))
register(Centre, list_display=("name", "code", "timezone", "tenant"), list_filter=("tenant",))
register(Service, list_display=("name", "code", "list_price", "delivery_cost", "tenant"), list_filter=("tenant",))
register(StaffMember, list_display=("name", "role", "is_practitioner", "tenant"), list_filter=("tenant", "role"))
register(
    Patient,
    list_display=("name", "external_ref", "tenant"),
    list_filter=("tenant",),
    search_fields=("name", "external_ref"),
)
register(
    ApiKey,
    list_display=("name", "prefix", "role", "created_at", "revoked_at", "tenant"),
    list_filter=("tenant", "role"),
    exclude=("digest", "keyed"),  # the digest is a credential check, of no use to a reader
)
register(
    AuditEvent,
    list_display=("at", "action", "actor", "source", "subject_type", "subject_id", "reason"),
    list_filter=("tenant", "action"),
)
