"""`punchcard release HOLD_ID`: the appointment was cancelled or the package removed from it."""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand, whole
from punchcard.domain.roles import cli_actor
from punchcard.packages.services import release_hold

from .redeem import balance_lines


class Command(PunchcardCommand):
    help = "Release a hold: its sessions become available again."

    def add_command_arguments(self, parser):
        parser.add_argument("hold", metavar="HOLD_ID")
        parser.add_argument("--reason", default="", help="why (optional)")

    def run(self, *args, tenant, hold, reason="", **options):
        released = release_hold(tenant=tenant, actor=cli_actor(), hold_id=whole(hold, "hold_id"), reason=reason)
        self.stdout.write(f"Hold {released.id} released: {released.sessions} session(s) available again.")
        for text in balance_lines(tenant, released.package):
            self.stdout.write(text)
