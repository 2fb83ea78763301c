"""`punchcard journal export --format csv|beancount --from DATE --to DATE [--output FILE]`."""

from __future__ import annotations

import datetime as dt
import sys
from contextlib import nullcontext

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.ledger.exports import export_beancount, export_csv


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--{name} must be a date (YYYY-MM-DD), not {value!r}", field=name) from None


class Command(PunchcardCommand):
    help = "Export the journal for a period as CSV (one row per posting) or as a beancount ledger."

    def add_command_arguments(self, parser):
        parser.add_argument("action", choices=["export"])
        parser.add_argument("--format", choices=["csv", "beancount"], default="csv")
        parser.add_argument("--from", dest="date_from", required=True)
        parser.add_argument("--to", dest="date_to", required=True)
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def run(self, tenant, **options):
        date_from, date_to = _date(options["date_from"], "from"), _date(options["date_to"], "to")
        if date_from > date_to:
            raise InvalidInput("--from is after --to", field="from")
        with open(options["output"], "w", encoding="utf-8") if options["output"] else nullcontext(sys.stdout) as out:
            if options["format"] == "csv":
                debits, credits = export_csv(tenant, date_from, date_to, out)
                summary = f"debits {debits} = credits {credits} (minor units)"
            else:
                summary = f"{export_beancount(tenant, date_from, date_to, out)} transactions"
        self.stderr.write(f"journal {date_from}..{date_to} for {tenant.slug}: {summary}")
