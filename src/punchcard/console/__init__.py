"""The staff console: the front desk's day and the manager's work, as server-rendered pages (SPEC §14).

Views only call services and selectors; the same roles and permissions as the API apply (a button a role
may not use is not shown, and the server refuses it anyway); every form is CSRF-protected.
"""
