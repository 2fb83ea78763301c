"""Every write of notifications: webhook endpoints and replays (`endpoints`), patients' email choices and
the tenant's reminder settings (`preferences`)."""

from .endpoints import (
    create_endpoint,
    delete_endpoint,
    replay_delivery,
    rotate_secret,
    update_endpoint,
)
from .preferences import set_notification_preferences, set_reminder_settings
from .receipts import email_receipt

__all__ = [
    "create_endpoint",
    "delete_endpoint",
    "email_receipt",
    "replay_delivery",
    "rotate_secret",
    "set_notification_preferences",
    "set_reminder_settings",
    "update_endpoint",
]
