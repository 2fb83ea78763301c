"""`punchcard summaries [--timeout SECONDS]`: fold the ledgers into the reports' summaries now.

What the `report-summaries` job does every five minutes, run until every watermark has reached the
ledgers' latest rows as they were when the command started (after an upgrade or a big import). Reports
are exact without it; it only makes them fast. On PostgreSQL a watermark takes three runs (candidate,
barrier, fold; see reports.summaries), and waits for transactions still open below it.
"""

from __future__ import annotations

import datetime as dt
import time

from punchcard import clock
from punchcard.cli.base import PunchcardCommand
from punchcard.reports.summaries import SETTLE, fold_summaries, folded_to, latest_ids


class Command(PunchcardCommand):
    help = "Fold the journal and the session ledger into the reports' summaries, up to their latest rows."
    uses_tenant = False

    def add_command_arguments(self, parser):
        parser.add_argument("--timeout", default="600", metavar="SECONDS", help="give up after this long (600)")

    def run(self, *args, tenant, timeout="600", **options):
        try:
            limit = float(timeout)
        except ValueError:
            limit = -1.0
        if not 0 < limit <= 86400:
            self.fail("--timeout must be a number of seconds up to 86400", code="invalid")
        goal = latest_ids()
        written = dict.fromkeys(goal, 0)
        started, began = clock.now(), time.monotonic()
        while True:
            # The clock's instant moved on by the time waited: a candidate's barrier comes SETTLE after it.
            now = started + dt.timedelta(seconds=time.monotonic() - began)
            for source, rows in fold_summaries(now=now).items():
                written[source] += rows
            behind = [source for source, top in goal.items() if folded_to(source) < top]
            if not behind:
                break
            if time.monotonic() - began > limit:
                self.fail(f"still behind after {limit:g} s (a transaction left open?): {', '.join(behind)}")
            time.sleep(SETTLE.total_seconds() * 1.5)
        table = self.table("Report summaries", "Source", "Watermark", "Summary rows written")
        for source in goal:
            table.add_row(source, str(folded_to(source)), str(written[source]))
        self.console().print(table)
