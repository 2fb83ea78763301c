"""`punchcard tenant create|list`: set up a clinic from an empty database.

    punchcard tenant create --name "Sunrise Physio" --slug sunrise --currency INR --locale en-IN \\
        --time-zone Asia/Kolkata --centre "Bandra" [--centre-code bandra] [--sandbox]
    punchcard tenant list

`create` makes the tenant, its chart of accounts and its first centre in one transaction; then
`punchcard staff create` gives it an admin login and `punchcard apikey create` an API key.
"""

from __future__ import annotations

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import cli_actor
from punchcard.ledger.models import Account
from punchcard.tenancy.models import Tenant
from punchcard.tenancy.onboarding import open_clinic

ACTIONS = ("create", "list")


class Command(PunchcardCommand):
    help = "Create a tenant (a clinic: its chart of accounts and first centre), or list the tenants."
    uses_tenant = False
    uses_clock = False

    def add_command_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS, help="create or list")
        parser.add_argument("--name", help="create: the clinic's name, e.g. 'Sunrise Physio'")
        parser.add_argument("--slug", help="create: its short name in commands, e.g. 'sunrise'")
        parser.add_argument("--currency", default="INR", help="create: ISO 4217 code (default INR)")
        parser.add_argument("--locale", default="en_IN", help="create: for money and dates, e.g. en-IN (default)")
        parser.add_argument("--time-zone", help="create: IANA zone of its books and first centre, e.g. Asia/Kolkata")
        parser.add_argument("--centre", help="create: the first centre's name, e.g. 'Bandra'")
        parser.add_argument("--centre-code", help="create: the first centre's code (default: from its name)")
        parser.add_argument("--sandbox", action="store_true", help="create: a sandbox tenant, not a real clinic")

    def run(self, *args, tenant, action, **options):
        if action == "list":
            return self._list()
        for option in ("name", "slug", "time_zone", "centre"):
            if not options.get(option):
                raise InvalidInput(f"--{option.replace('_', '-')} is required for `tenant create`", field=option)
        made, centre = open_clinic(
            actor=cli_actor(),
            name=options["name"],
            slug=options["slug"],
            currency=options["currency"],
            locale=options["locale"],
            time_zone=options["time_zone"],
            centre=options["centre"],
            centre_code=options.get("centre_code"),
            sandbox=options["sandbox"],
        )
        accounts = Account.objects.filter(tenant=made).count()
        kind = "sandbox tenant" if made.sandbox else "tenant"
        self.stdout.write(
            f"Created {kind} {made.slug} ({made.name}): currency {made.currency}, locale {made.locale}, "
            f"time zone {made.time_zone}."
        )
        self.stdout.write(f"Chart of accounts: {accounts} accounts.")
        self.stdout.write(f"First centre: {centre.name} (code {centre.code}, {centre.timezone}).")
        self.stdout.write(f"Next: punchcard staff create --tenant {made.slug} --email EMAIL --role admin")

    def _list(self):
        table = self.table("Tenants", "Slug", "Name", "Currency", "Time zone", "Centres", "Sandbox")
        for t in Tenant.objects.order_by("slug"):
            table.add_row(
                t.slug, t.name, t.currency, t.time_zone or "-", str(t.centres.count()), "yes" if t.sandbox else ""
            )
        if not table.row_count:
            self.stdout.write("No tenants yet: `punchcard tenant create --help`.")
            return
        self.console().print(table)
