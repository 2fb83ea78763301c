"""Selling (SPEC §3): orders, payments, activation; top-ups and upgrades (§8.4); refunds and credit (§8.2);
stored payment methods and their charges (§10.2).

Every write is one function in one transaction; the modules split them by idea and this package
names the ones the API, the CLI and the apps above billing call.
"""

from ..selectors import credit_balance
from .activation import activate_order, activate_package
from .charges import charge_method, charge_order, refund_charge
from .checkout import complete_checkout, start_checkout
from .numbering import next_number
from .orders import (
    MAX_FUTURE_START_DAYS,
    MAX_ORDER_ITEMS,
    OrderItem,
    cancel_order,
    mark_pay_later,
    place_order,
    record_payment,
    sell_package,
)
from .payment_methods import add_payment_method, detach_payment_method
from .provider_events import connect_provider, receive_webhook
from .refunds import pay_out_credit, refund_package
from .top_up import top_up_package
from .upgrade import upgrade_package

__all__ = [
    "MAX_FUTURE_START_DAYS",
    "MAX_ORDER_ITEMS",
    "OrderItem",
    "activate_order",
    "activate_package",
    "add_payment_method",
    "cancel_order",
    "charge_method",
    "charge_order",
    "complete_checkout",
    "connect_provider",
    "credit_balance",
    "detach_payment_method",
    "mark_pay_later",
    "next_number",
    "pay_out_credit",
    "place_order",
    "receive_webhook",
    "record_payment",
    "refund_charge",
    "refund_package",
    "sell_package",
    "start_checkout",
    "top_up_package",
    "upgrade_package",
]
