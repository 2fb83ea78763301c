"""`punchcard tick [--as-of INSTANT] [--every SECONDS]`: enqueue whatever is due, exactly once.

Safe from cron every minute on several machines at once: each due slot (a job and its minute, or its
local day in a zone) is claimed by a unique row, so only one tick enqueues it. `--every 60` keeps
ticking (what `punchcard serve` runs).
"""

from __future__ import annotations

import signal
import time

from django.db import close_old_connections

from punchcard import clock
from punchcard.cli.base import PunchcardCommand
from punchcard.jobs.tick import tick


class Command(PunchcardCommand):
    help = "Enqueue every job that is due (expiry sweep, claim-code expiry, reminders, outbox, purges) once."
    uses_tenant = False

    def add_command_arguments(self, parser):
        parser.add_argument("--every", default=None, metavar="SECONDS", help="keep ticking at this interval")

    def run(self, *args, tenant, every=None, **options):
        if every is None:
            self._once()
            return
        try:
            interval = float(every)
        except ValueError:
            interval = 0.0
        if not 1 <= interval <= 3600:
            self.fail("--every must be a number of seconds from 1 to 3600", code="invalid")
        stop = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.append(True))
        while not stop:
            close_old_connections()
            self._once()
            deadline = time.monotonic() + interval
            while not stop and time.monotonic() < deadline:
                time.sleep(0.2)

    def _once(self):
        enqueued = tick(now=clock.now())
        for job, slot in enqueued:
            self.stdout.write(f"enqueued {job} [{slot}]")
        self.stdout.write(f"{len(enqueued)} job(s) enqueued at {clock.now().isoformat(timespec='seconds')}")
        self.stdout.flush()
