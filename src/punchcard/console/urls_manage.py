"""The manager's, accountant's and admin's pages: approvals, corrections, catalogue, settings, reports."""

urlpatterns = []
