from punchcard.tenancy.readonly_admin import register

from .models import Account, JournalEntry, Posting

register(Account, list_display=("code", "name", "type", "role", "tenant"), list_filter=("tenant", "type"))
register(
    JournalEntry,
    list_display=("id", "date", "kind", "memo", "total_debit", "currency", "event_type", "event_id"),
    list_filter=("tenant", "kind"),
)
register(
    Posting, list_display=("entry", "account", "amount", "package", "patient", "centre"), list_filter=("account__role",)
)
