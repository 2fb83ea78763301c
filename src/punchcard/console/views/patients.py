"""Finding a patient, and the patient's page: packages in the clinic's words with their history, credit,
appointments and receipts; sending the patient a link to their portal, or revoking every link they have."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from punchcard.appointments import selectors as appointment_selectors
from punchcard.billing import selectors as billing_selectors
from punchcard.domain.errors import DomainError
from punchcard.domain.roles import Perm
from punchcard.kernel.refusals import refusal
from punchcard.notifications.services import email_portal_link
from punchcard.packages import wording
from punchcard.packages.cards import package_cards
from punchcard.tenancy import portal_links
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
        "can_send_link": desk.can(Perm.MANAGE_PATIENTS),
    }
    return render(request, "console/patient.html", context)


@require_POST
@desk_view(Perm.MANAGE_PATIENTS)
def send_portal_link(request, patient_id: int):
    """A new portal link emailed to the patient (after commit, by the outbox)."""
    desk = request.desk
    person = tenancy_selectors.patient(desk.tenant, patient_id)
    try:
        link = email_portal_link(tenant=desk.tenant, actor=desk.actor, patient_id=person.id)
    except DomainError as error:
        messages.error(request, refusal(error, tenant=desk.tenant).message)
    else:
        until = wording.day(desk.tenant, link.expires_at.astimezone(desk.centre.zone).date())
        messages.success(request, f"A portal link is on its way to {person.email}; it opens until {until}.")
    return redirect("console:patient", patient_id=person.id)


@require_POST
@desk_view(Perm.MANAGE_PATIENTS)
def revoke_portal_links(request, patient_id: int):
    """Every portal link of the patient stops opening now (a lost phone, a link sent to the wrong address)."""
    desk = request.desk
    person = tenancy_selectors.patient(desk.tenant, patient_id)
    count = portal_links.revoke_portal_links(
        tenant=desk.tenant, actor=desk.actor, patient_id=person.id, reason="revoked at the desk"
    )
    messages.success(request, f"{count} portal link(s) of {person.name} no longer open.")
    return redirect("console:patient", patient_id=person.id)
