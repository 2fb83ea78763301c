"""The front desk's pages: the day, patients, selling, booking, visits, receipts."""

from django.urls import path

from .views import patients, today

urlpatterns = [
    path("", today.today, name="today"),
    path("patients/", patients.search, name="patients"),
    path("patients/<int:patient_id>/", patients.patient, name="patient"),
]
