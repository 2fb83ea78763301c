"""Appointments drive the package (SPEC §5). Every write: one function, one transaction.

Each flow works on a row-locked appointment (lock order: the appointment, then its package, as the
package services take it):

- booking: book_appointment (the package pre-selected, chosen or none), reschedule_appointment,
  change_practitioner;
- package: apply_package / remove_package, before arrival only;
- visits: arrive, cancel_appointment, undo_arrival;
- no_shows: record_no_show ('redeem' or 'fee'), undo_no_show;
- configuration: configure_no_show_fees / set_commission_rate, the tenant's settings these flows read.

The `do_*` steps (and create_appointment, set_practitioner) run inside a caller's transaction on an
appointment it locked: status events from the scheduling system use them (appointments.events).
"""

from .booking import (
    AUTO,
    book_appointment,
    change_practitioner,
    checked_times,
    create_appointment,
    do_reschedule,
    reschedule_appointment,
    set_practitioner,
)
from .configuration import configure_no_show_fees, set_commission_rate
from .no_shows import do_no_show, record_no_show, undo_no_show
from .package import apply_package, remove_package
from .primitives import lock_appointment
from .visits import arrive, cancel_appointment, do_arrive, do_cancel, undo_arrival

__all__ = [
    "AUTO",
    "apply_package",
    "arrive",
    "book_appointment",
    "cancel_appointment",
    "change_practitioner",
    "checked_times",
    "configure_no_show_fees",
    "create_appointment",
    "do_arrive",
    "do_cancel",
    "do_no_show",
    "do_reschedule",
    "lock_appointment",
    "record_no_show",
    "remove_package",
    "reschedule_appointment",
    "set_commission_rate",
    "set_practitioner",
    "undo_arrival",
    "undo_no_show",
]
