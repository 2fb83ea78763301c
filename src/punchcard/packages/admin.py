from punchcard.tenancy.readonly_admin import register

from .models import Beneficiary, ExpiryChange, Hold, Package, PackageLine, Redemption, SessionEntry, Transfer

register(
    Package,
    list_display=("id", "holder", "plan_version", "start_date", "expires_on", "closure", "sold_at"),
    list_filter=("tenant", "closure"),
    search_fields=("holder__name", "holder__external_ref"),
)
register(PackageLine, list_display=("package", "label", "granted", "redeemed", "held", "forfeited", "deferred_value"))
register(
    SessionEntry,
    list_display=(
        "id",
        "package",
        "line",
        "kind",
        "granted",
        "redeemed",
        "held",
        "forfeited",
        "value",
        "at",
        "actor",
        "reason",
    ),
    list_filter=("kind",),
)
register(
    Redemption,
    list_display=("id", "package", "service", "centre", "person", "day", "sessions", "value", "voided_at"),
    list_filter=("tenant",),
)
register(Hold, list_display=("id", "package", "service", "day", "sessions", "state"), list_filter=("state",))
register(Beneficiary, list_display=("package", "patient", "added_at", "removed_at"))
register(ExpiryChange, list_display=("package", "old_expires_on", "new_expires_on", "reason", "at", "actor"))
register(Transfer, list_display=("package", "from_patient", "to_patient", "at", "actor"))
