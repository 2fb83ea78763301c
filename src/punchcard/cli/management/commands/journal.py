"""`punchcard journal export --format csv|beancount --from DATE --to DATE [--output FILE]`."""
from __future__ import annotations

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError

from punchcard.ledger.exports import export_beancount, export_csv
from punchcard.tenancy.models import Tenant


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"error [invalid]: --{name} must be a date (YYYY-MM-DD), not {value!r}") from None


class Command(BaseCommand):
    help = "Export the journal for a period as CSV (one row per posting) or as a beancount ledger."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write the journal for a period")
        export.add_argument("--tenant", help="tenant slug (default: the only tenant)")
        export.add_argument("--format", choices=["csv", "beancount"], default="csv")
        export.add_argument("--from", dest="date_from", required=True)
        export.add_argument("--to", dest="date_to", required=True)
        export.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, **options):
        tenant = self._tenant(options["tenant"])
        date_from, date_to = _date(options["date_from"], "from"), _date(options["date_to"], "to")
        if date_from > date_to:
            raise CommandError("error [invalid]: --from is after --to")
        out = open(options["output"], "w", encoding="utf-8") if options["output"] else sys.stdout
        try:
            if options["format"] == "csv":
                debits, credits = export_csv(tenant, date_from, date_to, out)
                summary = f"debits {debits} = credits {credits} (minor units)"
            else:
                summary = f"{export_beancount(tenant, date_from, date_to, out)} transactions"
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"journal {date_from}..{date_to} for {tenant.slug}: {summary}")

    def _tenant(self, slug: str | None) -> Tenant:
        if slug:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                raise CommandError(f"error [not_found]: no tenant {slug!r}")
            return tenant
        tenants = list(Tenant.objects.all()[:2])
        if len(tenants) != 1:
            raise CommandError("error [invalid]: name the tenant with --tenant SLUG")
        return tenants[0]
