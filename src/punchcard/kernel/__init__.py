"""The HTTP kernel: problem details, idempotency, pagination, rendering, the schema types every route
shares, and `caller`. It imports no app: each app's api.py builds on it, and `punchcard.api` mounts
those routes with the principals tenancy authenticates."""
