"""`punchcard plans`: the catalogue, current version of each plan."""

from __future__ import annotations

from punchcard.catalogue.models import Plan, PlanKind
from punchcard.cli.base import PunchcardCommand
from punchcard.domain.expiry import ExpiryMode
from punchcard.packages import wording


class Command(PunchcardCommand):
    help = "List the tenant's plans: code, name, version, status, sessions, price, expiry rule."

    def run(self, *args, tenant, **options):
        table = self.table(
            f"Plans of {tenant.name}",
            "Code",
            "Name",
            "Version",
            "Status",
            "Sessions",
            "Price",
            "Expiry",
            "Scope",
            "Sharing",
        )
        plans = (
            Plan.objects.filter(tenant=tenant, kind=PlanKind.PACKAGE)
            .prefetch_related("versions__lines")
            .order_by("code")
        )
        for plan in plans:
            version = max(plan.versions.all(), key=lambda v: v.number)
            lines = list(version.lines.all())
            bonus = sum(line.bonus_sessions for line in lines)
            total = sum(line.sessions + line.bonus_sessions for line in lines)
            sessions = f"{total} ({total - bonus} + {bonus} bonus)" if bonus else str(total)
            price = wording.money(tenant, version.price, version.currency)
            if version.tax_rate_bp:
                whole, hundredths = divmod(version.tax_rate_bp, 100)
                rate = f"{whole}" + (f".{hundredths:02d}".rstrip("0") if hundredths else "")
                price += f" incl. {rate}% tax" if version.tax_inclusive else f" + {rate}% tax"
            expiry = version.expiry_rule.describe()
            if version.expiry_mode == ExpiryMode.SOFT:
                expiry += f", soft, {version.grace_days} grace days"
            sharing = []
            if version.shareable:
                sharing.append(f"shareable (up to {version.max_beneficiaries})")
            if version.transferable:
                sharing.append("transferable")
            table.add_row(
                plan.code,
                version.name,
                str(version.number),
                plan.get_status_display(),
                sessions,
                price,
                expiry,
                wording.scope_text(version),
                ", ".join(sharing) or "—",
            )
        console = self.console()
        if not table.row_count:
            console.print("No plans yet.")
            return
        console.print(table)
