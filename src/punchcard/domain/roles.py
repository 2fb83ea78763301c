"""Who may do what (SPEC §13): the roles, their permissions (the one table every service checks) and
the Actor every service takes and records in the ledger and audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import Forbidden


class Role(StrEnum):
    FRONT_DESK = "front_desk"
    MANAGER = "manager"
    ACCOUNTANT = "accountant"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


ROLES: tuple[str, ...] = tuple(role.value for role in Role)  # the staff roles (logins, API keys)
# A patient acting for themself in the portal: not a staff role (no login or API key has it).
PATIENT = "patient"


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
    CLOSE_PERIODS = "close_periods"  # close an accounting period (accountant, admin)
    SELL_MEMBERSHIP = "sell_membership"  # subscribe a patient, take an invoice's payment at the desk
    MANAGE_MEMBERSHIP_PLANS = "manage_membership_plans"  # membership plans and tier groups
    ADVANCE_TEST_CLOCK = "advance_test_clock"  # move a sandbox tenant's test clock (manager, admin)
    IMPORT = "import"  # bring packages from another system (opening balances in the books)
    EXPORT = "export"  # the tenant's whole data, to leave with it
    ADMIN = "admin"  # users, API keys, tenant settings


_FRONT_DESK = {Perm.READ, Perm.SELL, Perm.REDEEM, Perm.MANAGE_PATIENTS, Perm.SELL_MEMBERSHIP}
_MANAGER = _FRONT_DESK | {
    Perm.VOID,
    Perm.ADJUST,
    Perm.CHANGE_EXPIRY,
    Perm.CLOSE,
    Perm.REFUND,
    Perm.TRANSFER,
    Perm.EDIT_CATALOGUE,
    Perm.READ_MONEY,
    Perm.MANAGE_MEMBERSHIP_PLANS,
    Perm.ADVANCE_TEST_CLOCK,
    Perm.IMPORT,
}
_ACCOUNTANT = {Perm.READ, Perm.READ_MONEY, Perm.CLOSE_PERIODS}

GRANTS: dict[str, frozenset[Perm]] = {
    Role.FRONT_DESK: frozenset(_FRONT_DESK),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ACCOUNTANT: frozenset(_ACCOUNTANT),
    Role.ADMIN: frozenset(set(Perm)),
    # Buying a plan, claiming a code and getting their own invoice; the portal shows only their own rows.
    PATIENT: frozenset({Perm.READ, Perm.SELL}),
}


def require(role: str, perm: Perm) -> None:
    if perm not in GRANTS.get(role, frozenset()):
        raise Forbidden(f"the {role} role lacks the '{perm}' permission", permission=str(perm))


@dataclass(frozen=True)
class Actor:
    label: str  # "staff:3 Asha Rao", "apikey:pk_3f9a (Scheduler)", "cli", "sweep"
    role: str
    source: str = ""  # centre or channel the change came from
    staff_id: int | None = None
    patient_id: int | None = None  # a patient acting for themself (the portal)

    @classmethod
    def patient(cls, patient_id: int, name: str) -> Actor:
        """A patient in the portal: audited as "patient:12 Asha Rao" from "portal"."""
        return cls(label=f"patient:{patient_id} {name}", role=PATIENT, source="portal", patient_id=patient_id)

    def require(self, perm: Perm, *, for_patient: int | None = None) -> None:
        """The role has `perm`; a patient actor may act only for themself (`for_patient` is theirs)."""
        require(self.role, perm)
        if self.patient_id is not None and for_patient is not None and for_patient != self.patient_id:
            raise Forbidden("a patient may act only for themself", permission=str(perm))

    def can(self, perm: Perm) -> bool:
        return perm in GRANTS.get(self.role, frozenset())


SYSTEM = Actor(label="system", role=Role.ADMIN, source="system")


def cli_actor() -> Actor:
    return Actor(label="cli", role=Role.ADMIN, source="cli")
