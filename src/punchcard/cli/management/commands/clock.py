"""`punchcard clock show|advance --tenant SLUG [--to WHEN]`: a sandbox tenant's test clock (SPEC §10.4).

    punchcard clock show --tenant sandbox
    punchcard clock advance --tenant sandbox --to 2027-03-01            # noon that day, the tenant's zone
    punchcard clock advance --tenant sandbox --to 2027-03-01T00:30+05:30

`advance` runs, in time order and as of each one's own instant, every job that falls due for the sandbox
on the way (tenancy.testclock), then prints what ran. A live tenant is refused (test_clock_live_tenant).
"""

from __future__ import annotations

from collections import Counter

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import cli_actor
from punchcard.tenancy.selectors import own_clock
from punchcard.tenancy.testclock import advance_test_clock, live_refusal


class Command(PunchcardCommand):
    help = "Show or advance a sandbox tenant's test clock (advancing runs every job due on the way)."
    uses_clock = False  # the sandbox's own clock is the point; --as-of would only get in its way

    def add_command_arguments(self, parser):
        parser.add_argument("action", choices=["show", "advance"])
        parser.add_argument(
            "--to",
            metavar="WHEN",
            help="advance: an ISO date (noon that day in the tenant's zone) or date-time (without an offset: "
            "in the tenant's zone), e.g. 2027-03-01",
        )

    def run(self, *args, tenant, action, to=None, **options):
        if not tenant.sandbox:
            raise live_refusal(tenant)
        if action == "show":
            if to:
                raise InvalidInput("`clock show` takes no --to", field="to")
            own = own_clock(tenant)
            where = own.astimezone(tenant.zone).isoformat() if own else "real time (not advanced yet)"
            self.stdout.write(f"{tenant.slug}'s clock: {where}")
            return
        if not to:
            raise InvalidInput("where to? `punchcard clock advance --tenant SLUG --to 2027-03-01`", field="to")
        done = advance_test_clock(tenant=tenant, to=to, actor=cli_actor())
        zone = tenant.zone
        before, after = done.start.astimezone(zone).isoformat(), done.now.astimezone(zone).isoformat()
        steps = f"{done.steps} step{'s' if done.steps != 1 else ''}"
        self.stdout.write(f"{tenant.slug}'s clock: {before} → {after} ({steps}).")
        if not done.ran:
            self.stdout.write("Nothing was due.")
            return
        runs, counts = Counter(r.job for r in done.ran), Counter()
        for r in done.ran:
            counts[r.job] += r.count
        table = self.table("What ran", "Job", "Runs", "Done")
        for job in sorted(runs):
            table.add_row(job, str(runs[job]), str(counts[job]))
        self.console().print(table)
        busy = [r for r in done.ran if r.count]
        if busy:
            detail = self.table("Runs that did something", "At", "Job", "Slot", "Done")
            for r in busy:
                detail.add_row(r.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), r.job, r.slot, str(r.count))
            self.console().print(detail)
