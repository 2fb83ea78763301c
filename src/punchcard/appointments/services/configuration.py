"""The tenant's appointment settings: the no-show fee list (with the default choice and fee) and the
commission rate, kept in Tenant.settings (a JSON column).

Each write reads the settings and writes them back, so it locks the row it changes — the tenant's —
FOR NO KEY UPDATE: two settings writes take turns and neither loses the other's keys, while every other
write of the tenant goes on (the foreign-key checks of rows that reference the tenant take KEY SHARE,
which NO KEY UPDATE does not block; FOR UPDATE would).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from punchcard import clock
from punchcard.domain import validation
from punchcard.domain.errors import InvalidInput
from punchcard.domain.money import check_amount
from punchcard.domain.roles import Actor, Perm
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.services import audit

from .. import charges
from ..models import NoShowChoice

_UNSET = object()
MAX_FEES = 50


def _settings_of(tenant: Tenant) -> dict:
    """The tenant's settings as committed, its row locked until the caller's transaction ends."""
    locked = Tenant.objects.select_for_update(no_key=True).only("settings").get(pk=tenant.pk)
    return dict(locked.settings or {})


def _save_settings(tenant: Tenant, settings: dict) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(settings=settings)
    tenant.settings = settings


def _checked_fees(fees) -> list[dict]:
    if not isinstance(fees, list) or len(fees) > MAX_FEES:
        raise InvalidInput(f"fees must be a list of at most {MAX_FEES} {{code, name, amount}}", field="fees")
    clean, seen = [], set()
    for i, fee in enumerate(fees):
        if not isinstance(fee, dict):
            raise InvalidInput("each fee is {code, name, amount}", field=f"fees[{i}]")
        code = validation.slug(fee.get("code"), f"fees[{i}].code")
        if code in seen:
            raise InvalidInput(f"fee code {code!r} appears twice", field=f"fees[{i}].code")
        name = validation.text(fee.get("name"), f"fees[{i}].name", max_length=200)
        amount = check_amount(fee.get("amount"), field=f"fees[{i}].amount", allow_zero=False)
        seen.add(code)
        clean.append({"code": code, "name": name, "amount": amount})
    return clean


@transaction.atomic
def configure_no_show_fees(
    *,
    tenant: Tenant,
    actor: Actor,
    fees: list[dict],
    default_option: str | None = None,
    default_fee_code=_UNSET,
    now: dt.datetime | None = None,
) -> Tenant:
    """Set the tenant's no-show fees ([{code, name, amount}], amounts in minor units), and optionally the
    default choice for automatic no-show events ('redeem' or 'fee') and the default fee's code."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    clean = _checked_fees(fees)
    codes = {fee["code"] for fee in clean}
    settings = _settings_of(tenant)
    settings["no_show_fees"] = clean
    if default_option is not None:
        settings["no_show_default"] = validation.choice(default_option, NoShowChoice, "default_option").value
    if default_fee_code is not _UNSET:
        if default_fee_code is not None and default_fee_code not in codes:
            raise InvalidInput(f"no fee with code {default_fee_code!r} in the list", field="default_fee_code")
        settings["no_show_default_fee"] = default_fee_code
    elif settings.get("no_show_default_fee") not in codes:
        settings["no_show_default_fee"] = None
    if settings.get("no_show_default") == NoShowChoice.FEE and not clean:
        raise InvalidInput("the default no-show choice is 'fee' but no fee is configured", field="fees")
    _save_settings(tenant, settings)
    audit(
        tenant=tenant,
        actor=actor,
        action="tenant.no_show_fees",
        subject=tenant,
        now=now,
        data={
            "fees": clean,
            "default": settings.get("no_show_default"),
            "default_fee": settings.get("no_show_default_fee"),
        },
    )
    return tenant


@transaction.atomic
def set_commission_rate(*, tenant: Tenant, actor: Actor, rate_bp: int, now: dt.datetime | None = None) -> Tenant:
    """Commission rate in basis points (1000 = 10 %), applied to commission credited from now on."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    rate_bp = validation.whole(rate_bp, "rate_bp", low=0, high=charges.MAX_COMMISSION_RATE_BP)
    settings = _settings_of(tenant)
    settings["commission_rate_bp"] = rate_bp
    _save_settings(tenant, settings)
    audit(
        tenant=tenant, actor=actor, action="tenant.commission_rate", subject=tenant, now=now, data={"rate_bp": rate_bp}
    )
    return tenant
