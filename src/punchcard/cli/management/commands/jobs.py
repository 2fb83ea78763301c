"""`punchcard jobs [--all]`: the job queue: how many tasks are queued, running, failed, and which."""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand
from punchcard.jobs import status


class Command(PunchcardCommand):
    help = "Show queued, running and failed work on the job queue (--all: finished work too)."
    uses_tenant = False
    uses_clock = False

    def add_command_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="include finished tasks")
        parser.add_argument("--limit", default="50", help="rows to show (default 50)")

    def run(self, *args, tenant, all=False, limit="50", **options):
        counts = status.counts()
        self.stdout.write(", ".join(f"{n} {state}" for state, n in counts.items()))
        states = tuple(status.STATES) if all else ("READY", "RUNNING", "FAILED")
        rows = status.recent(states=states, limit=max(1, min(int(limit) if limit.isdigit() else 50, 1000)))
        if not rows:
            return
        table = self.table(None, "Task", "State", "Enqueued", "Started", "Finished", "Id")
        for row in rows:
            table.add_row(
                row["task"],
                row["state"],
                _when(row["enqueued_at"]),
                _when(row["started_at"]),
                _when(row["finished_at"]),
                str(row["id"]),
            )
        self.console().print(table)


def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else "—"
