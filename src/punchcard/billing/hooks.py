"""Where the apps above billing plug into a sale (DESIGN "Layers": billing imports none of them).

- A **pricer** prices an order's lines before the tax split: promotions registers one. It is called as
  `pricer(tenant=, patient=, day=, versions=, code=)` and returns one `(discount, record)` per version
  (0 and None where it offers nothing). At most one pricer may be registered: offers do not stack
  across pricers.
- A **line taker** may take a paid package line instead of a package being opened for it: claims
  registers one that turns bulk and gift lines into claim codes. It is called as
  `taker(order=, line=, actor=, now=)` and returns True when it took the line.
- A **line kind** names what an order line sells, and its **activator** does what a paid (or
  pay-later) line of that kind brings about: billing registers its own (package, top-up, upgrade), a
  memberships app would register its own. It is called as `activator(order=, line=, actor=, now=)`.

Registration happens in the registering app's `AppConfig.ready`, so it is in place before any request.
"""

from __future__ import annotations

from collections.abc import Callable

from punchcard.domain.errors import NotFound

Pricer = Callable[..., list[tuple[int, dict | None]]]
LineTaker = Callable[..., bool]
Activator = Callable[..., None]

_pricers: list[Pricer] = []
_line_takers: list[LineTaker] = []
_activators: dict[str, Activator] = {}


class UnknownLineKind(LookupError):
    """An order line whose kind no installed app registered: a configuration bug, not bad input."""


def register_pricer(pricer: Pricer) -> None:
    if pricer in _pricers:
        return
    if _pricers:
        raise RuntimeError("a sale has one pricer; another is registered already")
    _pricers.append(pricer)


def register_line_taker(taker: LineTaker) -> None:
    if taker not in _line_takers:
        _line_takers.append(taker)


def register_line_kind(kind: str, activator: Activator) -> None:
    kind = str(kind)
    if _activators.get(kind, activator) is not activator:
        raise RuntimeError(f"order line kind {kind!r} has an activator already")
    _activators[kind] = activator


def activator_for(kind: str) -> Activator:
    """What activates a paid line of this kind."""
    try:
        return _activators[str(kind)]
    except KeyError:
        known = ", ".join(sorted(_activators)) or "none"
        raise UnknownLineKind(f"no app registered order line kind {kind!r} (registered: {known})") from None


def price(*, tenant, patient, day, versions, code) -> list[tuple[int, dict | None]]:
    """Discount and promotion record per version; no discount when no pricer is registered."""
    if not _pricers:
        if code:
            raise NotFound("no promotions are available", field="promotion_code")
        return [(0, None) for _ in versions]
    return _pricers[0](tenant=tenant, patient=patient, day=day, versions=versions, code=code)


def taken(*, order, line, actor, now) -> bool:
    """True when a registered taker took the line (no package is to be opened for it)."""
    return any(taker(order=order, line=line, actor=actor, now=now) for taker in _line_takers)
