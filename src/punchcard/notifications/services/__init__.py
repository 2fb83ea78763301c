"""Every write of notifications: webhook endpoints and replays (`endpoints`), patients' email choices and
the tenant's reminder settings (`preferences`), receipts and portal links emailed on request."""

from .endpoints import (
    create_endpoint,
    delete_endpoint,
    replay_delivery,
    rotate_secret,
    update_endpoint,
)
from .portal_links import email_portal_link
from .preferences import set_notification_preferences, set_reminder_settings
from .receipts import email_receipt

__all__ = [
    "create_endpoint",
    "delete_endpoint",
    "email_portal_link",
    "email_receipt",
    "replay_delivery",
    "rotate_secret",
    "set_notification_preferences",
    "set_reminder_settings",
    "update_endpoint",
]
