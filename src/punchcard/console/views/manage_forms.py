"""What every manager's form shares: reading the posted fields, and a refusal in the clinic's words next to
the field it is about (the service wrote nothing: its transaction rolled back)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render

from punchcard.domain.errors import DomainError, InvalidInput
from punchcard.domain.money import currency_exponent, parse_major
from punchcard.packages import wording
from punchcard.tenancy import selectors as tenancy_selectors

# A service names the field it refuses by its own parameter; the form's field is named alike, except these.
FIELD_OF = {
    "to_patient_id": "patient",
    "patient_id": "patient",
    "line_id": "line",
    "tax_rate_bp": "tax_rate",
    "buyer_id": "buyer",
}


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


def in_clinic_words(tenant, error: DomainError) -> str:
    """The domain error's message, with amounts the service states in minor units said as money."""
    context = getattr(error, "context", {}) or {}
    if error.code == "refund_out_of_range" and "collected" in context:
        collected = wording.money(tenant, context["collected"])
        return f"A refund must be between {wording.money(tenant, 0)} and the {collected} collected."
    if error.code == "forbidden" and "permission" in error.message:  # actor.require's refusal
        return "Your role cannot do this; ask a manager."
    return _sentence(error.message)


def refusal(tenant, error: DomainError) -> dict[str, str]:
    """{form field: message}; a refusal about no particular field goes under "form"."""
    field = FIELD_OF.get(error.field or "", error.field or "form")
    return {field: in_clinic_words(tenant, error)}


def amount(tenant, text: str, field: str = "amount") -> int | None:
    """A typed amount in major units ('1,500' or '1500.00') as minor units; blank is None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return parse_major(text, tenant.currency)
    except InvalidInput:
        raise InvalidInput(f"{field.replace('_', ' ')} must be an amount like 1500 or 1,500.00", field=field) from None


def typed(amount: int | None, currency: str) -> str:
    """An amount as a form's field shows it: 4000.00."""
    if amount is None:
        return ""
    exponent = currency_exponent(currency)
    return f"{amount / 10**exponent:.{exponent}f}" if exponent else str(amount)


def day(text: str, field: str) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("give a date like 2026-05-29", field=field) from None


def whole(text: str, field: str) -> int:
    text = (text or "").strip()
    try:
        return int(text)
    except ValueError:
        raise InvalidInput("give a whole number, like 2 or -1", field=field) from None


def patient_by_reference(tenant, text: str, field: str = "patient"):
    """The patient whose reference (P-1002), phone or email is exactly what was typed."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("give the patient's reference, e.g. P-1002", field=field)
    wanted = text.casefold()
    for person in tenancy_selectors.search_patients(tenant, text):
        if wanted in {(person.external_ref or "").casefold(), (person.phone or ""), (person.email or "").casefold()}:
            return person
    raise InvalidInput(f"no patient has the reference {text}", field=field)


def act(request, *, template: str, context: dict, do, done: str, to: str, args=()):
    """Run `do()` (one service call); on success say `done` and go to `to`; refused → the form again, 422,
    with the message next to its field (403 when it is the role that is refused)."""
    try:
        do()
    except DomainError as error:
        context = {**context, "errors": refusal(request.desk.tenant, error), "posted": request.POST}
        return render(request, template, context, status=403 if error.kind == "forbidden" else 422)
    messages.success(request, done)
    return redirect(to, *args)
