"""Memberships' writes, a module per idea: plans (and tier groups), subscribing, invoicing, charging and
dunning, desk payments, the daily renewals run, recognition, notices, pausing and cancelling; status
changes go through `status`. Changes with proration and price-change notices will be modules of their own."""

from .cancelling import cancel, keep
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
    "collect",
    "collect_due",
    "create_membership_plan",
    "create_tier_group",
    "edit_membership_plan",
    "keep",
    "pause",
    "pay_invoice",
    "policies_of",
    "recognise",
    "record_outcome",
    "resume",
    "run_billing",
    "set_membership_plan_status",
    "subscribe",
    "tell_due_notices",
]
