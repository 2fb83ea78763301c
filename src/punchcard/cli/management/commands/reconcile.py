"""`punchcard reconcile`: run every app's reconciliation check, for every tenant unless --tenant is given."""

from __future__ import annotations

from punchcard.cli.base import EXIT_REFUSED, PunchcardCommand
from punchcard.ledger.reconcile import reconcile
from punchcard.tenancy.models import Tenant

MAX_SHOWN = 50


class Command(PunchcardCommand):
    help = (
        "Check every invariant of the books (cached balances = session ledger, every journal entry and the "
        "whole journal balance, the money of every package and claim code) for every tenant, or the one "
        "given with --tenant; exit 1 listing the problems if any."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("--all", dest="all_tenants", action="store_true", help="every tenant (the default)")

    def handle(self, *args, **options):
        if options.get("all_tenants") and options.get("tenant"):
            self.fail("pass --tenant SLUG or --all, not both")
        # Without --tenant, every tenant is checked, one by one.
        self.uses_tenant = bool(options.get("tenant"))
        return super().handle(*args, **options)

    def run(self, *args, tenant, all_tenants=False, **options):
        tenants = [tenant] if tenant is not None else list(Tenant.objects.order_by("slug"))
        summary = self.table("Reconciliation", "Tenant", "Check", "Checked", "Problems", "Result")
        problems = []
        for each in tenants:
            for result in reconcile(each):
                summary.add_row(
                    each.slug,
                    result.description,
                    str(result.checked),
                    str(len(result.problems)),
                    "ok" if result.ok else "MISMATCH",
                )
                problems += [(each.slug, p) for p in result.problems]
        console = self.console()
        console.print(summary)
        if not problems:
            console.print(f"All checks passed for {len(tenants)} tenant(s).")
            return
        listing = self.table("Problems", "Tenant", "Check", "Subject", "Detail")
        for slug, problem in problems[:MAX_SHOWN]:
            listing.add_row(slug, problem.check, problem.subject, problem.detail)
        console.print(listing)
        if len(problems) > MAX_SHOWN:
            console.print(f"… and {len(problems) - MAX_SHOWN} more.")
        self.fail(
            f"{len(problems)} reconciliation problem(s): "
            + "; ".join(f"{slug} {p.check} {p.subject}" for slug, p in problems[:3])
            + ("; …" if len(problems) > 3 else ""),
            code="reconcile_failed",
            returncode=EXIT_REFUSED,
        )
