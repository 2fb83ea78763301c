"""The admin's webhook endpoints (SPEC §12): list them with their latest delivery, add one (its `whsec_…`
secret shown once), rotate the secret (shown once), re-enable, delete; an endpoint's deliveries with a replay
button."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from punchcard.domain.errors import DomainError, NotFound
from punchcard.domain.roles import Perm
from punchcard.notifications import selectors, services
from punchcard.notifications.event_types import EVENT_TYPES
from punchcard.notifications.models import WebhookEndpoint
from punchcard.tenancy.selectors import scoped_get

from ..access import desk_view
from . import manage_forms as forms

ENDPOINTS = "console:manage-webhooks"
TEMPLATE = "console/manage/webhooks.html"
SHOWN_DELIVERIES = 50


def _endpoints(desk):
    return WebhookEndpoint.objects.filter(tenant=desk.tenant, deleted_at=None).order_by("created_at", "id")


def _context(desk, **more) -> dict:
    rows = [
        {"endpoint": e, "latest": selectors.attempts_of(e).order_by("-at", "-id").first()} for e in _endpoints(desk)
    ]
    return {
        "desk": desk,
        "rows": rows,
        "event_types": EVENT_TYPES,
        "errors": {},
        "posted": {},
        "chosen": [],
        **more,
    }


@desk_view(Perm.ADMIN)
def endpoints(request):
    return render(request, TEMPLATE, _context(request.desk))


def _with_secret(request, endpoint, what: str):
    # The secret is in this one answer; the list never shows it again.
    return render(request, TEMPLATE, _context(request.desk, secret=endpoint.secret, secret_for=endpoint, what=what))


@require_POST
@desk_view(Perm.ADMIN)
def endpoint_create(request):
    desk, post = request.desk, request.POST
    try:
        endpoint = services.create_endpoint(
            tenant=desk.tenant,
            actor=desk.actor,
            url=post.get("url", ""),
            event_types=post.getlist("event_types"),
            description=post.get("description", ""),
        )
    except DomainError as error:
        context = _context(
            desk, errors=forms.refusal(desk.tenant, error), posted=post, chosen=post.getlist("event_types")
        )
        return render(request, TEMPLATE, context, status=403 if error.kind == "forbidden" else 422)
    return _with_secret(request, endpoint, "The new endpoint's secret")


def _act(request, do, done: str):
    """One service call on an endpoint; a refusal shows above the list (the endpoint is the field)."""
    desk = request.desk
    try:
        result = do()
    except DomainError as error:
        context = _context(desk, errors={"form": forms.in_clinic_words(desk.tenant, error)})
        return None, render(request, TEMPLATE, context, status=403 if error.kind == "forbidden" else 422)
    if done:
        messages.success(request, done)
    return result, None


@require_POST
@desk_view(Perm.ADMIN)
def endpoint_rotate(request, endpoint_id: int):
    desk = request.desk
    endpoint, refused = _act(
        request, lambda: services.rotate_secret(tenant=desk.tenant, actor=desk.actor, endpoint_id=endpoint_id), ""
    )
    if refused:
        return refused
    return _with_secret(request, endpoint, "The endpoint's new secret (the old one still signs for 24 hours)")


@require_POST
@desk_view(Perm.ADMIN)
def endpoint_delete(request, endpoint_id: int):
    desk = request.desk
    _, refused = _act(
        request,
        lambda: services.delete_endpoint(tenant=desk.tenant, actor=desk.actor, endpoint_id=endpoint_id),
        "Endpoint deleted: nothing more is sent to it.",
    )
    return refused or redirect(ENDPOINTS)


@require_POST
@desk_view(Perm.ADMIN)
def endpoint_enable(request, endpoint_id: int):
    """Re-enable an endpoint a 410 (or an admin) disabled: deliveries resume, and its deliveries can be replayed."""
    desk = request.desk
    _, refused = _act(
        request,
        lambda: services.update_endpoint(tenant=desk.tenant, actor=desk.actor, endpoint_id=endpoint_id, enabled=True),
        "Endpoint enabled: deliveries to it resume.",
    )
    return refused or redirect(ENDPOINTS)


@desk_view(Perm.ADMIN)
def deliveries(request, endpoint_id: int):
    desk = request.desk
    try:
        endpoint = scoped_get(
            WebhookEndpoint, tenant=desk.tenant, pk=endpoint_id, field="endpoint_id", queryset=_endpoints(desk)
        )
    except NotFound:
        raise Http404("no such endpoint") from None
    attempts = selectors.attempts_of(endpoint).order_by("-at", "-id")[:SHOWN_DELIVERIES]
    return render(
        request,
        "console/manage/webhook_deliveries.html",
        {"desk": desk, "endpoint": endpoint, "attempts": attempts, "errors": {}},
    )


@require_POST
@desk_view(Perm.ADMIN)
def delivery_replay(request, delivery_id: int):
    desk = request.desk
    delivery, refused = _act(
        request,
        lambda: services.replay_delivery(tenant=desk.tenant, actor=desk.actor, delivery_id=delivery_id),
        "Delivery queued to be sent again now.",
    )
    if refused:
        return refused
    return redirect("console:manage-webhook-deliveries", delivery.endpoint_id)
