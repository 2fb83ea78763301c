"""Finding a patient, and the patient's page: packages in the clinic's words, credit, appointments."""

from __future__ import annotations

from django.shortcuts import render

from punchcard.appointments import selectors as appointment_selectors
from punchcard.billing import selectors as billing_selectors
from punchcard.packages import selectors as package_selectors
from punchcard.packages import wording
from punchcard.tenancy import selectors as tenancy_selectors

from ..access import desk_view


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
    cards = []
    for summary in package_selectors.packages_of_patient(desk.tenant, person.id):
        expiry = wording.expiry_text(desk.tenant, summary)
        cards.append(
            {
                "summary": summary,
                "package": summary.package,
                "status": wording.status_text(summary),
                "shared": summary.package.holder_id != person.id,
                "lines": [wording.line_text(line, expiry) for line in summary.lines],
            }
        )
    recent = appointment_selectors.appointments(desk.tenant, patient_id=person.id).order_by("-start")[:20]
    context = {
        "desk": desk,
        "person": person,
        "cards": cards,
        "credit": wording.money(desk.tenant, billing_selectors.credit_balance(desk.tenant, person.id)),
        "visits": appointment_selectors.views(list(recent)),
    }
    return render(request, "console/patient.html", context)
