"""Every write to a package's sessions (SPEC §4–§7). One function, one transaction each.

The modules, by idea: `session_ledger` (the package lock and the one way sessions change, which the
others and billing and promotions build on), `usage` (redemptions and holds), `corrections` (voids and
adjustments), `expiry` (one package's expiry), `sweep` (the nightly expiry of many), `closing`
(completed, cancelled, and the closing billing's refunds and upgrades share), `sharing` (beneficiaries
and transfer). Callers import from here: `from punchcard.packages import services as packages`.
"""

from .closing import cancel_package, close_package, complete_package
from .corrections import adjust_sessions, void_redemption
from .expiry import change_expiry
from .notices import announce_activated, reminder_settings, set_reminder_settings, tell_due_notices
from .session_ledger import MAX_SESSIONS_PER_USE, apply_entry, checked_sessions, line_by_id, lines_of, lock_package
from .sharing import add_beneficiary, remove_beneficiary, transfer_package
from .sweep import SWEEP_BATCH, SWEEPER, expire_due_packages
from .usage import place_hold, post_hold, redeem_session, release_hold

__all__ = [
    "MAX_SESSIONS_PER_USE",
    "SWEEPER",
    "SWEEP_BATCH",
    "add_beneficiary",
    "adjust_sessions",
    "announce_activated",
    "apply_entry",
    "cancel_package",
    "change_expiry",
    "checked_sessions",
    "close_package",
    "complete_package",
    "expire_due_packages",
    "line_by_id",
    "lines_of",
    "lock_package",
    "place_hold",
    "post_hold",
    "redeem_session",
    "release_hold",
    "reminder_settings",
    "remove_beneficiary",
    "set_reminder_settings",
    "tell_due_notices",
    "transfer_package",
    "void_redemption",
]
