"""`punchcard report NAME [--from DATE] [--to DATE] [--centre CODE] [--plan CODE] [--format table|csv|json]`.

The same figures as the API's /reports/{name}: the names are those of reports.registry.
"""

from __future__ import annotations

import json
from io import StringIO

from rich.console import Console

from punchcard.cli.base import PunchcardCommand
from punchcard.domain.roles import cli_actor
from punchcard.reports import registry, services
from punchcard.reports.output import cell, to_csv, to_json


class Command(PunchcardCommand):
    help = "Print a report (sales, usage, liability, expiry, completion, profit, commission, settlement, ...)."

    def add_command_arguments(self, parser):
        parser.add_argument("name", choices=registry.names(), help="which report")
        parser.add_argument("--from", dest="date_from", metavar="DATE", help="first day (default: 1st of the month)")
        parser.add_argument("--to", dest="date_to", metavar="DATE", help="last day (default: today)")
        parser.add_argument("--centre", metavar="CODE", help="only this centre (code or id)")
        parser.add_argument("--plan", metavar="CODE", help="only this plan (code or id)")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
        parser.add_argument(
            "--by",
            help="group by, comma separated (sales: plan,period,centre,staff; usage: service,centre,practitioner,plan)",
        )
        parser.add_argument("--period", choices=["day", "week", "month", "year"], help="sales: period length")
        parser.add_argument("--days", type=int, help="expiry: look this many days ahead (default 30)")
        parser.add_argument("--package", help="usage-detail: the package id")
        parser.add_argument("--limit", type=int, help="profit: at most this many packages listed")
        parser.add_argument("--output", "-o", metavar="FILE", help="write to a file instead of standard output")

    def run(
        self,
        *args,
        tenant,
        name,
        date_from=None,
        date_to=None,
        centre=None,
        plan=None,
        format="table",
        by=None,
        period=None,
        days=None,
        package=None,
        limit=None,
        output=None,
        **options,
    ):
        report = services.run_report(
            tenant=tenant,
            actor=cli_actor(),
            name=name,
            date_from=date_from,
            date_to=date_to,
            centre=centre,
            plan=plan,
            by=by,
            period=period,
            days=days,
            package_id=package,
            limit=limit,
        )
        if format == "csv":
            text = to_csv(report)
        elif format == "json":
            text = json.dumps(to_json(report), ensure_ascii=False, indent=2) + "\n"
        else:
            text = None
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                out.write(text if text is not None else self._table_text(report, tenant))
            self.stderr.write(f"{report.title}: {len(report.rows)} row(s) written to {output}")
            return
        if text is not None:
            self.stdout.write(text, ending="")
            return
        self._print_table(report, tenant, self.console())

    def _build(self, report, tenant):
        table = self.table(report.title, *[c.label for c in report.columns])
        for column in table.columns:
            column.justify = "left"
        for column, spec in zip(table.columns, report.columns, strict=True):
            if spec.kind in ("int", "money", "bp", "days"):
                column.justify = "right"
        for row in report.rows:
            table.add_row(
                *[cell(row.get(c.key), c.kind, tenant.currency, locale=tenant.locale) for c in report.columns]
            )
        if report.totals and report.name != "completion":
            keys = {c.key for c in report.columns}
            if any(k in keys for k in report.totals):
                table.add_section()
                table.add_row(
                    *[
                        (
                            "Total"
                            if i == 0 and c.key not in report.totals
                            else cell(report.totals.get(c.key), c.kind, tenant.currency, locale=tenant.locale)
                        )
                        for i, c in enumerate(report.columns)
                    ]
                )
        return table

    def _print_table(self, report, tenant, console):
        console.print(self._build(report, tenant))
        filters = ", ".join(f"{k}={v}" for k, v in report.filters.items())
        console.print(f"[dim]{filters}[/dim]" if filters else "")
        if report.name == "settlement" and report.extra.get("net"):
            for net in report.extra["net"]:
                console.print(
                    f"Net: {net['from']} owes {net['to']} "
                    f"{cell(net['amount'], 'money', tenant.currency, locale=tenant.locale)}"
                )
        if report.name == "expiry" and report.totals:
            t = report.totals
            console.print(
                f"Expiring: {t['expiring']} package(s), {t['expiring_sessions']} session(s); "
                f"expired: {t['expired']} package(s), {t['expired_sessions']} session(s)"
            )
        for note in report.notes:
            console.print(f"Note: {note}")

    def _table_text(self, report, tenant) -> str:
        buffer = StringIO()
        self._print_table(report, tenant, Console(file=buffer, width=200, highlight=False, emoji=False))
        return buffer.getvalue()
