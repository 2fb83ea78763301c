"""`punchcard period close YYYY-MM` / `punchcard period list`: accounting periods (calendar months).

Closing a month that has ended (in the tenant's zone) closes every earlier open month with it; nothing
posts into a closed month afterwards. Closing a closed month changes nothing.
"""

from __future__ import annotations

import datetime as dt

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import cli_actor
from punchcard.ledger import periods


class Command(PunchcardCommand):
    help = "Close an accounting period (a month that has ended), or list the periods and which are closed."

    def add_command_arguments(self, parser):
        parser.add_argument("action", choices=["close", "list"])
        parser.add_argument("period", nargs="?", metavar="YYYY-MM", help="close: the month, e.g. 2026-10")

    def run(self, *args, tenant, action, period=None, **options):
        if action == "list":
            if period:
                raise InvalidInput("`period list` takes no YYYY-MM", field="period")
            return self._list(tenant)
        if not period:
            raise InvalidInput("which month? `punchcard period close YYYY-MM`", field="period")
        row, closed_now = periods.close_period(tenant=tenant, actor=cli_actor(), period=period)
        if not closed_now:
            self.stdout.write(f"{row.label} was closed already ({row.closed_at:%Y-%m-%d %H:%M} UTC, {row.closed_by}).")
            return
        self.stdout.write(f"Closed {', '.join(closed_now)} for {tenant.slug}; nothing posts into them any more.")
        through = periods.closed_through(tenant)
        first_open = (through + dt.timedelta(days=1)).isoformat()
        self.stdout.write(f"Entries that belong to them are posted on {first_open}, the first open day.")

    def _list(self, tenant):
        table = self.table(f"Accounting periods of {tenant.name}", "Period", "From", "To", "Status", "Closed")
        for state in periods.periods(tenant):
            row = state.closed
            table.add_row(
                state.label,
                state.month.isoformat(),
                periods.last_day(state.month).isoformat(),
                state.status if state.closed or state.ended else "open (current)",
                f"{row.closed_at:%Y-%m-%d %H:%M} UTC by {row.closed_by}" if row else "",
            )
        self.console().print(table)
