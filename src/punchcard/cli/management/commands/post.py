"""`punchcard post HOLD_ID`: the patient arrived; the hold becomes a redemption."""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand, whole
from punchcard.domain.roles import cli_actor
from punchcard.packages import wording
from punchcard.packages.services import post_hold

from .redeem import balance_lines


class Command(PunchcardCommand):
    help = "Post a hold as a redemption (arrival)."

    def add_command_arguments(self, parser):
        parser.add_argument("hold", metavar="HOLD_ID")

    def run(self, *args, tenant, hold, **options):
        redemption = post_hold(tenant=tenant, actor=cli_actor(), hold_id=whole(hold, "hold_id"))
        self.stdout.write(
            f"Hold {redemption.hold_id} posted: redemption {redemption.id}, {redemption.sessions} "
            f"session(s) on {wording.day(tenant, redemption.day)}, value "
            f"{wording.money(tenant, redemption.value)}."
        )
        for text in balance_lines(tenant, redemption.package):
            self.stdout.write(text)
