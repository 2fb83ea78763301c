"""The manager's, accountant's and admin's pages: approvals, corrections, catalogue, settings, reports."""

from django.urls import path

from .views import manage_package, manage_refund, manage_sharing, manage_void

urlpatterns = [
    path("manage/packages/<int:package_id>/", manage_package.package, name="manage-package"),
    path("manage/packages/<int:package_id>/refund/", manage_refund.refund, name="manage-refund"),
    path("manage/packages/<int:package_id>/expiry/", manage_package.expiry, name="manage-expiry"),
    path("manage/packages/<int:package_id>/adjust/", manage_package.adjust, name="manage-adjust"),
    path("manage/packages/<int:package_id>/close/", manage_package.close, name="manage-close"),
    path("manage/packages/<int:package_id>/transfer/", manage_sharing.transfer, name="manage-transfer"),
    path("manage/packages/<int:package_id>/beneficiaries/", manage_sharing.beneficiaries, name="manage-beneficiaries"),
    path(
        "manage/packages/<int:package_id>/beneficiaries/<int:patient_id>/remove/",
        manage_sharing.remove_beneficiary,
        name="manage-remove-beneficiary",
    ),
    path("manage/redemptions/<int:redemption_id>/void/", manage_void.void, name="manage-void"),
]
