from punchcard.tenancy.readonly_admin import register

from .models import CreditPayout, Order, OrderLine, Payment, Refund

register(
    Order,
    list_display=("number", "patient", "centre", "status", "gross", "paid", "created_at"),
    list_filter=("tenant", "status"),
)
register(OrderLine, list_display=("order", "kind", "plan_version", "net", "tax", "gross", "discount"))
register(Payment, list_display=("order", "method", "amount", "reference", "received_at"), list_filter=("method",))
register(Refund, list_display=("package", "amount", "suggested", "reason", "created_at"))
register(CreditPayout, list_display=("patient", "method", "amount", "created_at"))
