"""The manager's, accountant's and admin's pages: approvals, corrections, catalogue, settings, reports."""

from django.urls import path

from .views import (
    manage_admin,
    manage_catalogue,
    manage_offers,
    manage_package,
    manage_refund,
    manage_reports,
    manage_sharing,
    manage_void,
)

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
    path("manage/reports/", manage_reports.reports, name="manage-reports"),
    path("manage/reports/journal/", manage_reports.journal, name="manage-journal"),
    path("manage/reports/<slug:name>/", manage_reports.report, name="manage-report"),
    path("manage/catalogue/", manage_catalogue.catalogue_list, name="manage-catalogue"),
    path("manage/catalogue/new/", manage_catalogue.plan_edit, name="manage-plan-new"),
    path("manage/catalogue/<int:plan_id>/", manage_catalogue.plan_edit, name="manage-plan-edit"),
    path("manage/catalogue/<int:plan_id>/status/", manage_catalogue.plan_status, name="manage-plan-status"),
    path("manage/promotions/", manage_offers.promotion_list, name="manage-promotions"),
    path(
        "manage/promotions/<int:promotion_id>/retire/", manage_offers.promotion_retire, name="manage-promotion-retire"
    ),
    path("manage/claim-codes/", manage_offers.claim_order, name="manage-claim-order"),
    path("manage/staff/", manage_admin.staff, name="manage-staff"),
    path("manage/staff/new/", manage_admin.staff_create, name="manage-staff-create"),
    path("manage/api-keys/new/", manage_admin.api_key_create, name="manage-api-key-create"),
    path("manage/api-keys/<str:prefix>/revoke/", manage_admin.api_key_revoke, name="manage-api-key-revoke"),
    path("manage/no-show-fees/", manage_admin.no_show_fees, name="manage-no-show-fees"),
]
