"""`punchcard worker [--batch] [--interval S] [--max-tasks N]`: work the job queue.

Several workers may run on several machines against one database: each takes the next ready task with
SELECT … FOR UPDATE SKIP LOCKED (on SQLite writers serialise instead), so no task runs twice.
"""

from __future__ import annotations

from django.core.management import call_command

from punchcard.cli.base import PunchcardCommand, whole


class Command(PunchcardCommand):
    help = "Run a worker for the job queue (webhooks, email, the expiry sweep, reminders, purges)."
    uses_tenant = False
    uses_clock = False

    def add_command_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="work every ready task, then exit")
        parser.add_argument("--interval", default="1", help="seconds between looks at an empty queue (default 1)")
        parser.add_argument("--max-tasks", default=None, help="exit after this many tasks")

    def run(self, *args, tenant, batch, interval, max_tasks=None, **options):
        try:
            seconds = float(interval)
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 3600:
            self.fail("--interval must be a number of seconds from 0 to 3600", code="invalid")
        extra = {"max_tasks": whole(max_tasks, "max_tasks", high=1_000_000)} if max_tasks else {}
        call_command(
            "db_worker",
            queue_name="*",
            interval=seconds,
            batch=batch,
            startup_delay=False,
            reload=False,
            verbosity=options.get("verbosity", 1),
            stdout=self.stdout._out,
            stderr=self.stderr._out,
            **extra,
        )
