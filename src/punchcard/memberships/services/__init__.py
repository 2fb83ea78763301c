"""Memberships' writes, a module per idea: plans (and tier groups), subscribing, invoicing, charging and
dunning, desk payments, the daily renewals run, recognition, notices, pausing and cancelling; status
changes go through `status`. Changes with proration are `changes`; when a new plan price reaches a member
is `prices` (applied by `changes.take_effect`, told by `notices`)."""

from .cancelling import cancel, keep
from .changes import change_membership, preview_change
from .charging import collect, record_outcome
from .notices import tell_due_notices
from .pausing import pause, resume
from .payments import pay_invoice
from .plans import (
    MembershipTerms,
    create_membership_plan,
    create_tier_group,
    edit_membership_plan,
    policies_of,
    set_membership_plan_status,
)
from .recognition import recognise
from .renewals import collect_due, run_billing
from .subscribing import subscribe

__all__ = [
    "MembershipTerms",
    "cancel",
    "change_membership",
    "collect",
    "collect_due",
    "create_membership_plan",
    "create_tier_group",
    "edit_membership_plan",
    "keep",
    "pause",
    "pay_invoice",
    "policies_of",
    "preview_change",
    "recognise",
    "record_outcome",
    "resume",
    "run_billing",
    "set_membership_plan_status",
    "subscribe",
    "tell_due_notices",
]
