"""SPEC §4.2: a package's status is a pure function of its closure, dates, balance and the day.

The only statuses ever stored are the explicit closures (completed, cancelled, upgraded), each
made by one of the transitions listed in ALLOWED below, stamped with who and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from .errors import Conflict
from .expiry import ExpiryMode, Validity, validity_on


class PackageStatus(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    EXHAUSTED = "exhausted"
    EXPIRED = "expired"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    UPGRADED = "upgraded"


class Closure(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # refunded packages are cancelled with a refund recorded
    UPGRADED = "upgraded"


OPEN = frozenset({PackageStatus.SCHEDULED, PackageStatus.ACTIVE, PackageStatus.EXHAUSTED, PackageStatus.EXPIRED})
CLOSED = frozenset({PackageStatus.COMPLETED, PackageStatus.CANCELLED, PackageStatus.UPGRADED})


@dataclass(frozen=True)
class StatusView:
    status: PackageStatus
    in_grace: bool = False


def derive_status(
    *,
    closure: Closure | None,
    today: dt.date,
    start: dt.date,
    last_day: dt.date | None,
    mode: ExpiryMode,
    grace_days: int,
    remaining: int,
) -> StatusView:
    if closure:
        return StatusView(PackageStatus(str(closure)))
    validity = validity_on(today, start=start, last_day=last_day, mode=mode, grace_days=grace_days)
    if validity is Validity.NOT_STARTED:
        return StatusView(PackageStatus.SCHEDULED)
    if validity is Validity.EXPIRED:
        return StatusView(PackageStatus.EXPIRED)
    if validity is Validity.IN_GRACE:
        return StatusView(PackageStatus.EXPIRED, in_grace=True)
    return StatusView(PackageStatus.EXHAUSTED if remaining <= 0 else PackageStatus.ACTIVE)


class Action(StrEnum):
    COMPLETE = "complete"
    CANCEL = "cancel"
    REFUND = "refund"
    UPGRADE = "upgrade"
    TOP_UP = "top_up"
    TRANSFER = "transfer"
    ADJUST = "adjust"
    CHANGE_EXPIRY = "change_expiry"
    ADD_BENEFICIARY = "add_beneficiary"


S = PackageStatus
# The one list of which status allows which change (redemptions and holds have their own
# ordered checks in eligibility.py). A closed package allows nothing.
ALLOWED: dict[Action, frozenset[PackageStatus]] = {
    Action.COMPLETE: frozenset({S.SCHEDULED, S.ACTIVE, S.EXHAUSTED, S.EXPIRED}),
    Action.CANCEL: frozenset({S.SCHEDULED, S.ACTIVE, S.EXHAUSTED, S.EXPIRED}),
    # An expired package's remainder is already breakage: refunding it would un-earn revenue.
    Action.REFUND: frozenset({S.SCHEDULED, S.ACTIVE, S.EXHAUSTED}),
    Action.UPGRADE: frozenset({S.SCHEDULED, S.ACTIVE}),
    Action.TOP_UP: frozenset({S.SCHEDULED, S.ACTIVE, S.EXHAUSTED}),
    Action.TRANSFER: frozenset({S.SCHEDULED, S.ACTIVE}),
    Action.ADJUST: frozenset({S.SCHEDULED, S.ACTIVE, S.EXHAUSTED, S.EXPIRED}),
    Action.CHANGE_EXPIRY: frozenset({S.SCHEDULED, S.ACTIVE, S.EXHAUSTED, S.EXPIRED}),
    Action.ADD_BENEFICIARY: frozenset({S.SCHEDULED, S.ACTIVE, S.EXHAUSTED}),
}


def ensure_allowed(action: Action, view: StatusView) -> None:
    if view.status not in ALLOWED[action]:
        code = {
            Action.REFUND: "not_refundable",
            Action.TOP_UP: "topup_not_allowed",
        }.get(action, "transition_not_allowed")
        raise Conflict(
            f"cannot {action.replace('_', ' ')} a package that is {view.status}",
            code=code,
            status=str(view.status),
        )
