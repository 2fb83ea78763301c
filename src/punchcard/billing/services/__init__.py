"""Selling (SPEC §3): orders, payments, activation; top-ups and upgrades (§8.4); refunds and credit (§8.2).

Every write is one function in one transaction; the modules split them by idea and this package
names the ones the API, the CLI and the apps above billing call.
"""

from ..selectors import credit_balance
from .activation import activate_order, activate_package
from .numbering import mention_data, mention_memo, next_number, number_last, order_number
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
from .refunds import pay_out_credit, refund_package
from .top_up import top_up_package
from .upgrade import upgrade_package

__all__ = [
    "MAX_FUTURE_START_DAYS",
    "MAX_ORDER_ITEMS",
    "OrderItem",
    "activate_order",
    "activate_package",
    "cancel_order",
    "credit_balance",
    "mark_pay_later",
    "mention_data",
    "mention_memo",
    "next_number",
    "number_last",
    "order_number",
    "pay_out_credit",
    "place_order",
    "record_payment",
    "refund_package",
    "sell_package",
    "top_up_package",
    "upgrade_package",
]
