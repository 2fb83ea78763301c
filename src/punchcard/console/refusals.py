"""Where the desk goes after an action (a refusal's words are kernel.refusals', shared with the portal)."""

from __future__ import annotations

from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request, default: str) -> str:
    """Where to go after an action: the form's `next` when it is one of ours, else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default
