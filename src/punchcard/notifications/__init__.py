"""Notifications (SPEC §12): the outbox of domain events, the events API, webhooks and email."""
