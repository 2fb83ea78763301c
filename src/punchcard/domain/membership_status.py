"""SPEC §10.2: a membership's statuses and the one table of which change each allows.

Unlike a package's, a membership's status is stored: it changes only by the transitions in ALLOWED,
each made by a service that stamps who, when and why. A refusal names both ends and, where the clinic
would ask "why not?", says why (REASONS).
"""

from __future__ import annotations

from enum import StrEnum

from .errors import Conflict


class MembershipStatus(StrEnum):
    SCHEDULED = "scheduled"  # starts on a future date
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a renewal failed; retries are scheduled
    PAUSED = "paused"
    SUSPENDED = "suspended"  # the final action after the last retry: benefits blocked until paid
    CANCELLING = "cancelling"  # cancellation at the period end was asked for
    CANCELLED = "cancelled"
    ENDED = "ended"  # a cancellation at the period end took effect


M = MembershipStatus
FINAL = frozenset({M.CANCELLED, M.ENDED})

ALLOWED: dict[MembershipStatus, frozenset[MembershipStatus]] = {
    M.SCHEDULED: frozenset({M.TRIALING, M.ACTIVE, M.PAST_DUE, M.CANCELLED}),
    M.TRIALING: frozenset({M.ACTIVE, M.PAST_DUE, M.CANCELLING, M.CANCELLED}),
    M.ACTIVE: frozenset({M.PAST_DUE, M.PAUSED, M.CANCELLING, M.CANCELLED}),
    M.PAST_DUE: frozenset({M.ACTIVE, M.SUSPENDED, M.CANCELLED}),
    M.PAUSED: frozenset({M.ACTIVE, M.CANCELLED}),
    M.SUSPENDED: frozenset({M.ACTIVE, M.CANCELLED}),
    # Withdrawing the request brings it back (to its trial, if still in it); no renewal after the end is
    # attempted, so it cannot fall past due.
    M.CANCELLING: frozenset({M.ACTIVE, M.TRIALING, M.ENDED, M.CANCELLED}),
    M.CANCELLED: frozenset(),
    M.ENDED: frozenset(),
}

REASONS: dict[tuple[MembershipStatus, MembershipStatus], str] = {
    (M.PAUSED, M.PAST_DUE): "no invoice is issued while a membership is paused",
    (M.PAST_DUE, M.PAUSED): "a membership with an unpaid invoice cannot be paused; pay the invoice first",
    (M.SUSPENDED, M.PAUSED): "a suspended membership cannot be paused; pay the open invoice first",
    (M.TRIALING, M.PAUSED): "a trial cannot be paused",
    (M.CANCELLING, M.PAUSED): "a membership ending at the period end cannot be paused",
    (M.SCHEDULED, M.PAUSED): "a membership that has not started cannot be paused",
}


def ensure_transition(current: MembershipStatus, target: MembershipStatus) -> None:
    """Refuse (`membership_transition_not_allowed`) a change the table does not list."""
    current, target = MembershipStatus(current), MembershipStatus(target)
    if target in ALLOWED[current]:
        return
    if current in FINAL:
        why = f"the membership is {current}: nothing changes it any more"
    else:
        why = REASONS.get((current, target), f"a {current} membership cannot become {target}")
    raise Conflict(why, code="membership_transition_not_allowed", status=str(current), target=str(target))
