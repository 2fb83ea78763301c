"""What payment providers call (SPEC §10.2): their webhooks, and the test provider's checkout page.

These routes carry no API key: a webhook proves itself by its signature (the tenant's account secret),
a checkout page by its unguessable session id.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from django.http import HttpResponse
from ninja import Router
from pydantic import Field

from punchcard.kernel.problems import errors

from . import services
from .schemas import WebhookReceivedOut

router = Router(tags=["payment providers"], auth=None)

Name = Annotated[str, Field(max_length=32, pattern="^[a-z][a-z0-9_]{0,31}$")]
Session = Annotated[str, Field(max_length=200, pattern="^[A-Za-z0-9_-]{1,200}$")]
Token = Annotated[str, Field(max_length=200, pattern="^[ -~]{1,200}$")]


@router.post("/providers/{name}/webhooks", response={200: WebhookReceivedOut, **errors(400, 401, 404, 422)})
def receive_webhook(request, name: Name):
    """A provider's signed event (Standard Webhooks headers `webhook-id`, `webhook-timestamp`,
    `webhook-signature`; the body names the tenant's `account`). A wrong signature is a 401, a timestamp
    more than 5 minutes off or a malformed event a 400; an event received before is acknowledged again
    (`duplicate: true`) and does nothing."""
    event, new = services.receive_webhook(provider=name, body=request.body, headers=request.headers)
    return WebhookReceivedOut(event_id=event.event_id, type=event.type, duplicate=not new)


@router.get("/providers/test/checkout/{session}", response={303: None, **errors(404, 409, 422)})
def test_checkout_page(request, session: Session, token: Token = "tok_ok"):
    """The test provider's hosted page: pays at once with `token` (any test token; tok_ok when omitted)
    and sends the patient back to the checkout's return URL with `checkout` and `status`. Opening it
    again after it ended changes nothing."""
    checkout = services.complete_checkout(session=session, token=token)
    query = urlencode({"checkout": checkout.session, "status": checkout.status})
    response = HttpResponse(status=303)
    response["Location"] = checkout.return_url + ("&" if "?" in checkout.return_url else "?") + query
    return response
