"""The front desk's pages: the day, patients, selling, booking, visits, receipts."""

from django.urls import path

from .views import booking, patients, receipts, selling, today, visits

urlpatterns = [
    path("", today.today, name="today"),
    path("visits/<int:appointment_id>/arrive/", visits.arrive, name="arrive"),
    path("visits/<int:appointment_id>/no-show/", visits.no_show, name="no_show"),
    path("visits/<int:appointment_id>/undo-no-show/", visits.undo_no_show, name="undo_no_show"),
    path("visits/<int:appointment_id>/cancel/", visits.cancel, name="cancel"),
    path("visits/<int:appointment_id>/reschedule/", visits.reschedule, name="reschedule"),
    path("visits/<int:appointment_id>/apply-package/", visits.apply_package, name="apply_package"),
    path("visits/<int:appointment_id>/remove-package/", visits.remove_package, name="remove_package"),
    path("visits/<int:appointment_id>/undo-arrival/", visits.undo_arrival, name="undo_arrival"),
    path("patients/", patients.search, name="patients"),
    path("patients/<int:patient_id>/", patients.patient, name="patient"),
    path("patients/<int:patient_id>/book/", booking.book, name="book"),
    path("patients/<int:patient_id>/walk-in/", booking.walk_in, name="walk_in"),
    path("patients/<int:patient_id>/sell/", selling.sell, name="sell"),
    path("patients/<int:patient_id>/portal-link/", patients.send_portal_link, name="send_portal_link"),
    path("patients/<int:patient_id>/portal-links/revoke/", patients.revoke_portal_links, name="revoke_portal_links"),
    path("receipts/<str:kind>/<int:subject_id>/issue/", receipts.receipt_for, name="receipt_for"),
    path("receipts/<int:receipt_id>/", receipts.receipt, name="receipt"),
    path("receipts/<int:receipt_id>/html/", receipts.receipt_html, name="receipt_html"),
    path("receipts/<int:receipt_id>/pdf/", receipts.receipt_pdf, name="receipt_pdf"),
    path("receipts/<int:receipt_id>/email/", receipts.receipt_email, name="receipt_email"),
]
