"""Payment providers by name (README "Payment providers"): `register(provider)` in an AppConfig.ready,
`get(name)` wherever a stored method is charged. Billing registers its two built-ins, `manual` and
`test`; a processor's adapter is one more PaymentProvider registered the same way."""

from __future__ import annotations

from punchcard.domain.errors import InvalidInput

from .base import (
    FAILURE_CODES,
    WEBHOOK_TYPES,
    Authorisation,
    ChargeResult,
    CheckoutResult,
    CheckoutSession,
    PaymentProvider,
    RefundResult,
    StoredMethod,
    WebhookEvent,
    outside_transaction,
)

_providers: dict[str, PaymentProvider] = {}


def register(provider: PaymentProvider) -> None:
    if _providers.get(provider.name, provider) is not provider:
        raise RuntimeError(f"a payment provider named {provider.name!r} is registered already")
    _providers[provider.name] = provider


def get(name: str, *, field: str = "provider") -> PaymentProvider:
    try:
        return _providers[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_providers))
        raise InvalidInput(
            f"no payment provider {name!r} (there are: {known})", code="unknown_provider", field=field
        ) from None


def names() -> list[str]:
    return sorted(_providers)


__all__ = [
    "FAILURE_CODES",
    "WEBHOOK_TYPES",
    "Authorisation",
    "ChargeResult",
    "CheckoutResult",
    "CheckoutSession",
    "PaymentProvider",
    "RefundResult",
    "StoredMethod",
    "WebhookEvent",
    "get",
    "names",
    "outside_transaction",
    "register",
]
