"""`punchcard export --tenant SLUG --to DIR`: the tenant's whole data as CSV files with a README of the columns."""

from __future__ import annotations

from pathlib import Path

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.errors import InvalidInput
from punchcard.domain.roles import cli_actor
from punchcard.imports.export import export_tenant


class Command(PunchcardCommand):
    help = (
        "Export the tenant's patients, plans, packages with balances, session ledger, invoices, payments and "
        "journal as CSV files (with a README of their columns) into a directory."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--to", required=True, metavar="DIR", help="directory to write (made if missing)")

    def run(self, *args, tenant, to, **options):
        path = Path(to)
        if path.exists() and not path.is_dir():
            raise InvalidInput(f"{to} is a file, not a directory", field="to")
        counts = export_tenant(tenant=tenant, actor=cli_actor(), to=path)
        table = self.table(f"Exported {tenant.slug} to {path}", "File", "Rows#")
        for name, n in counts.items():
            table.add_row(name, str(n))
        self.console().print(table)
