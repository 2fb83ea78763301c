"""`punchcard expire [--as-of DATE] [--allow-future]`: the expiry sweep (run nightly, or as of a past date).

An as-of date after today would forfeit sessions that are still valid today, so it is refused unless
`--allow-future` says so (tests and rehearsals on a copy of the data).
"""

from __future__ import annotations

from punchcard import clock
from punchcard.claims.services import expire_claim_codes
from punchcard.cli.base import PunchcardCommand, parse_date
from punchcard.domain.errors import InvalidInput
from punchcard.packages.services import expire_due_packages


class Command(PunchcardCommand):
    help = (
        "Expire every open package past its last usable day: remaining sessions are forfeited and their "
        "deferred value recognised as breakage. Then expire every open claim code past its last day: the "
        "value it holds becomes breakage. Idempotent."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--allow-future",
            action="store_true",
            help="accept an --as-of after today (forfeits sessions still valid today; for tests only)",
        )

    def run(self, *args, tenant, as_of=None, allow_future=False, **options):
        # A bare date is the sweep's 'today' at every centre; a date-time leaves each centre its own date.
        day = parse_date(as_of, "as_of", quiet=True) if as_of else None
        now = clock.now()
        if as_of and not allow_future:
            zone = self.default_zone(tenant)
            today = self.started_at.astimezone(zone).date()
            if (day or now.astimezone(zone).date()) > today:
                raise InvalidInput(
                    f"--as-of {as_of} is after today ({today.isoformat()}): it would forfeit sessions still "
                    "valid today; pass --allow-future to do it anyway",
                    field="as_of",
                )
        when = f" as of {as_of}" if as_of else ""
        count = expire_due_packages(as_of=day, tenant=tenant, now=now)
        self.stdout.write(f"Expired {count} package(s){when} for {tenant.slug}.")
        # Unclaimed codes hold value on no package, so the package sweep never sees them.
        codes = expire_claim_codes(as_of=day, tenant=tenant, now=now)
        self.stdout.write(f"Expired {codes} claim code(s){when} for {tenant.slug}.")
