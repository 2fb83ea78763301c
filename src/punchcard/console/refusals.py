"""A refused action, shown where the desk can read it: the domain error's message, in a sentence, next to
the field it is about, with the HTTP status the API would give (nothing was written: the service's
transaction rolled back)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.http import url_has_allowed_host_and_scheme

from punchcard.domain.errors import DomainError

STATUS = {"invalid": 422, "not_found": 404, "forbidden": 403, "conflict": 409, "rate_limited": 429}


@dataclass(frozen=True)
class Refusal:
    message: str
    field: str
    code: str
    status: int


def refusal(error: DomainError, *, default_field: str = "") -> Refusal:
    message = error.message[:1].upper() + error.message[1:]
    if not message.endswith("."):
        message += "."
    return Refusal(
        message=message, field=error.field or default_field, code=error.code, status=STATUS.get(error.kind, 409)
    )


def next_url(request, default: str) -> str:
    """Where to go after an action: the form's `next` when it is one of ours, else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default
