"""What the patient does themself: claim a gift or bulk code. Each is the same service call the API makes,
with the patient as the actor; a refusal is shown in the clinic's words and writes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from punchcard.claims import services as claims
from punchcard.domain.errors import DomainError
from punchcard.kernel.refusals import refusal

from ..access import portal_view

# What a patient reads for the refusals a mistyped or spent code gets (the desk's words name the hint).
CLAIM_WORDS = {
    "claim_code_mistyped": "That code has a typo: check each character against the card or message.",
    "claim_code_unknown": "No code like this exists. Check it was typed exactly as printed.",
    "claim_code_used": "This code was already claimed.",
    "claim_code_revoked": "This code was withdrawn by whoever bought it.",
    "claim_code_expired": "This code has expired.",
    "claim_code_unpaid": "This code cannot be claimed yet: the order behind it is not paid. Try again later.",
}


@portal_view
def claim(request):
    """A gift or bulk code becomes a package in the patient's name (the claims guessing limit applies)."""
    visit = request.visit
    context = {"visit": visit, "code": ""}
    if request.method != "POST":
        return render(request, "portal/claim.html", context)
    code = request.POST.get("code", "").strip()[:64]
    try:
        claimed = claims.claim_code(tenant=visit.tenant, actor=visit.actor, code=code, patient_id=visit.patient.id)
    except DomainError as error:
        refused = refusal(error, tenant=visit.tenant, default_field="code")
        message = CLAIM_WORDS.get(error.code, refused.message)
        context.update(code=code, refusal=message)
        return render(request, "portal/claim.html", context, status=refused.status)
    package = claimed.package
    messages.success(request, f"Code claimed: {package.plan_version.name} is now yours (package #{package.id}).")
    return redirect("portal:home")
