"""Where a webhook may be sent (SSRF): only http(s), and only to public addresses unless the tenant is a
sandbox (`Tenant.sandbox`) or the operator sets PUNCHCARD_WEBHOOK_ALLOW_PRIVATE=1. Checked when an
endpoint is saved (a literal address or localhost) and again, on the resolved addresses, before every
attempt (a name may resolve elsewhere later)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from punchcard.domain.errors import InvalidInput


def private_allowed(tenant) -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE or tenant.sandbox)


def _refuse(message: str):
    raise InvalidInput(message, code="webhook_url_refused", field="url")


def check_url(url: str, *, tenant, resolve: bool = True) -> str:
    """The URL if a webhook may go there; else InvalidInput `webhook_url_refused` naming why."""
    if not isinstance(url, str) or len(url) > 2000:
        _refuse("url must be text of at most 2000 characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        _refuse("url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        _refuse("url must not carry credentials")
    if private_allowed(tenant):
        return url.strip()
    host = parts.hostname
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            _refuse(f"{host} is a loopback address")
        if not resolve:
            return url.strip()
        try:
            infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
        except (socket.gaierror, UnicodeError):
            _refuse(f"the host {host} does not resolve")
        addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    for found in addresses:
        address = found.ipv4_mapped if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped else found
        if address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified:
            _refuse(f"{host} is a loopback, private or link-local address ({address})")
        if address.is_multicast or address.is_reserved:
            _refuse(f"{host} is not a public unicast address ({address})")
    return url.strip()
