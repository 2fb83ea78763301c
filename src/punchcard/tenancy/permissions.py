"""SPEC §13 roles and what each may do: the one table, checked by every service."""

from __future__ import annotations

from enum import StrEnum

from punchcard.domain.errors import Forbidden

from .models import Role


class Perm(StrEnum):
    READ = "read"  # catalogue, patients, packages, appointments
    SELL = "sell"  # orders, payments, top-ups, upgrades
    REDEEM = "redeem"  # redemptions, holds, appointments, beneficiaries
    MANAGE_PATIENTS = "manage_patients"
    VOID = "void"
    ADJUST = "adjust"
    CHANGE_EXPIRY = "change_expiry"
    CLOSE = "close"  # complete, cancel
    REFUND = "refund"
    TRANSFER = "transfer"
    EDIT_CATALOGUE = "edit_catalogue"
    READ_MONEY = "read_money"  # journal, credit balances, reports
    ADMIN = "admin"  # users, API keys, tenant settings


_FRONT_DESK = {Perm.READ, Perm.SELL, Perm.REDEEM, Perm.MANAGE_PATIENTS}
_MANAGER = _FRONT_DESK | {
    Perm.VOID,
    Perm.ADJUST,
    Perm.CHANGE_EXPIRY,
    Perm.CLOSE,
    Perm.REFUND,
    Perm.TRANSFER,
    Perm.EDIT_CATALOGUE,
    Perm.READ_MONEY,
}
_ACCOUNTANT = {Perm.READ, Perm.READ_MONEY}

GRANTS: dict[str, frozenset[Perm]] = {
    Role.FRONT_DESK: frozenset(_FRONT_DESK),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ACCOUNTANT: frozenset(_ACCOUNTANT),
    Role.ADMIN: frozenset(set(Perm)),
}


def require(role: str, perm: Perm) -> None:
    if perm not in GRANTS.get(role, frozenset()):
        raise Forbidden(f"the {role} role lacks the '{perm}' permission", permission=str(perm))
