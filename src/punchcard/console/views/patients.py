"""Finding a patient, and the patient's page: packages in the clinic's words with their history, credit,
appointments and receipts."""

from __future__ import annotations

from django.shortcuts import render

from punchcard.appointments import selectors as appointment_selectors
from punchcard.billing import selectors as billing_selectors
from punchcard.domain.roles import Perm
from punchcard.packages import wording
from punchcard.tenancy import selectors as tenancy_selectors

from ..access import desk_view
from ..patient_page import package_cards


@desk_view()
def search(request):
    desk = request.desk
    q = request.GET.get("q", "").strip()
    patients = tenancy_selectors.search_patients(desk.tenant, q) if q else []
    return render(request, "console/patients.html", {"desk": desk, "q": q, "patients": patients})


@desk_view()
def patient(request, patient_id: int):
    desk = request.desk
    person = tenancy_selectors.patient(desk.tenant, patient_id)
    receipts = billing_selectors.receipts_of_patient(desk.tenant, person.id)
    recent = appointment_selectors.appointments(desk.tenant, patient_id=person.id).order_by("-start")[:20]
    context = {
        "desk": desk,
        "person": person,
        "cards": package_cards(desk.tenant, person, receipts),
        "credit": wording.money(desk.tenant, billing_selectors.credit_balance(desk.tenant, person.id)),
        "visits": appointment_selectors.views(list(recent)),
        "receipts": receipts,
        "can_sell": desk.can(Perm.SELL),
        "can_redeem": desk.can(Perm.REDEEM),
    }
    return render(request, "console/patient.html", context)
