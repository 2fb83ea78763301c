"""The tenant's appointment settings: the no-show fee list (with the default choice and fee) and the
commission rate, in the tenant's AppointmentSettings row.

Each write reads the settings and writes them back under that row's lock (FOR NO KEY UPDATE), so two
settings writes take turns and neither loses the other's change; nothing locks the tenant row, so no
other write of the tenant waits for a settings change (DESIGN rule 10).
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
from ..models import AppointmentSettings, NoShowChoice

_UNSET = object()
MAX_FEES = 50


def _locked_settings(tenant: Tenant) -> AppointmentSettings:
    """The tenant's settings row as committed, locked until the caller's transaction ends (made on first use;
    its unique tenant makes two first writes meet on one row)."""
    AppointmentSettings.objects.get_or_create(tenant=tenant)
    return AppointmentSettings.objects.select_for_update(no_key=True).get(tenant=tenant)


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
    settings = _locked_settings(tenant)
    settings.no_show_fees = clean
    if default_option is not None:
        settings.no_show_default = validation.choice(default_option, NoShowChoice, "default_option").value
    if default_fee_code is not _UNSET:
        if default_fee_code is not None and default_fee_code not in codes:
            raise InvalidInput(f"no fee with code {default_fee_code!r} in the list", field="default_fee_code")
        settings.no_show_default_fee = default_fee_code
    elif settings.no_show_default_fee not in codes:
        settings.no_show_default_fee = None
    if settings.no_show_default == NoShowChoice.FEE and not clean:
        raise InvalidInput("the default no-show choice is 'fee' but no fee is configured", field="fees")
    settings.save(update_fields=["no_show_fees", "no_show_default", "no_show_default_fee"])
    audit(
        tenant=tenant,
        actor=actor,
        action="tenant.no_show_fees",
        subject=tenant,
        now=now,
        data={
            "fees": clean,
            "default": settings.no_show_default,
            "default_fee": settings.no_show_default_fee,
        },
    )
    return tenant


@transaction.atomic
def set_commission_rate(*, tenant: Tenant, actor: Actor, rate_bp: int, now: dt.datetime | None = None) -> Tenant:
    """Commission rate in basis points (1000 = 10 %), applied to commission credited from now on."""
    actor.require(Perm.ADMIN)
    now = now or clock.now()
    rate_bp = validation.whole(rate_bp, "rate_bp", low=0, high=charges.MAX_COMMISSION_RATE_BP)
    settings = _locked_settings(tenant)
    settings.commission_rate_bp = rate_bp
    settings.save(update_fields=["commission_rate_bp"])
    audit(
        tenant=tenant, actor=actor, action="tenant.commission_rate", subject=tenant, now=now, data={"rate_bp": rate_bp}
    )
    return tenant
