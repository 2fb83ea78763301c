"""Punchcard: prepaid packages and memberships for appointment-based businesses."""
