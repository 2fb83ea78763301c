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
    manage_webhooks,
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
    path("manage/reports/close-period/", manage_reports.close_period, name="manage-close-period"),
    path("manage/reports/<slug:name>/", manage_reports.report, name="manage-report"),
    path("manage/catalogue/", manage_catalogue.catalogue_list, name="manage-catalogue"),
    path("manage/catalogue/new/", manage_catalogue.plan_edit, name="manage-plan-new"),
    path("manage/catalogue/<int:plan_id>/", manage_catalogue.plan_edit, name="manage-plan-edit"),
    path("manage/catalogue/<int:plan_id>/status/", manage_catalogue.plan_status, name="manage-plan-status"),
    path("manage/catalogue/<int:plan_id>/online/", manage_catalogue.plan_online, name="manage-plan-online"),
    path("manage/promotions/", manage_offers.promotion_list, name="manage-promotions"),
    path(
        "manage/promotions/<int:promotion_id>/retire/", manage_offers.promotion_retire, name="manage-promotion-retire"
    ),
    path("manage/claim-codes/", manage_offers.claim_order, name="manage-claim-order"),
    path("manage/staff/", manage_admin.staff, name="manage-staff"),
    path("manage/staff/new/", manage_admin.staff_create, name="manage-staff-create"),
    path("manage/staff/<int:staff_id>/role/", manage_admin.staff_role, name="manage-staff-role"),
    path("manage/staff/<int:staff_id>/deactivate/", manage_admin.staff_deactivate, name="manage-staff-deactivate"),
    path("manage/api-keys/new/", manage_admin.api_key_create, name="manage-api-key-create"),
    path("manage/api-keys/<str:prefix>/revoke/", manage_admin.api_key_revoke, name="manage-api-key-revoke"),
    path("manage/webhooks/", manage_webhooks.endpoints, name="manage-webhooks"),
    path("manage/webhooks/new/", manage_webhooks.endpoint_create, name="manage-webhook-create"),
    path("manage/webhooks/<int:endpoint_id>/rotate/", manage_webhooks.endpoint_rotate, name="manage-webhook-rotate"),
    path("manage/webhooks/<int:endpoint_id>/enable/", manage_webhooks.endpoint_enable, name="manage-webhook-enable"),
    path("manage/webhooks/<int:endpoint_id>/delete/", manage_webhooks.endpoint_delete, name="manage-webhook-delete"),
    path(
        "manage/webhooks/<int:endpoint_id>/deliveries/",
        manage_webhooks.deliveries,
        name="manage-webhook-deliveries",
    ),
    path("manage/deliveries/<int:delivery_id>/replay/", manage_webhooks.delivery_replay, name="manage-delivery-replay"),
    path("manage/no-show-fees/", manage_admin.no_show_fees, name="manage-no-show-fees"),
]
