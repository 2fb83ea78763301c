"""`punchcard show PATIENT`: a patient's packages, own and shared, with what is used and left."""

from __future__ import annotations

from punchcard.billing.services import credit_balance
from punchcard.cli.base import PunchcardCommand
from punchcard.packages import selectors, wording
from punchcard.tenancy.models import Patient


class Command(PunchcardCommand):
    help = "Show a patient's packages (own and as a beneficiary): sessions used and left, expiry, status."

    def add_command_arguments(self, parser):
        parser.add_argument("patient", metavar="PATIENT", help="patient's external reference (or id)")

    def run(self, *args, tenant, patient, **options):
        person = self.patient(tenant, patient)
        summaries = selectors.packages_of_patient(tenant, person.id)
        console = self.console()
        console.print(
            f"{person.name} ({person.external_ref}), credit {wording.money(tenant, credit_balance(tenant, person.id))}"
        )
        if not summaries:
            console.print("No packages.")
            return
        table = self.table(None, "Package #", "Plan", "Holder", "Status", "Sessions", "Available", "Held")
        shared = []
        for summary in summaries:
            package = summary.package
            expiry = wording.expiry_text(tenant, summary)
            holder = "self" if package.holder_id == person.id else f"{package.holder.name} (shared)"
            status = wording.status_text(summary)
            if package.closure and package.closed_reason:
                status += f": {package.closed_reason}"
            for index, line in enumerate(summary.lines):
                first = index == 0
                table.add_row(
                    str(package.id) if first else "",
                    package.plan_version.name if first else "",
                    holder if first else "",
                    status if first else "",
                    wording.line_text(line, expiry),
                    str(line.available),
                    str(line.held),
                )
            if package.plan_version.shareable:
                shared.append(package)
        console.print(table)
        for package in shared:
            usage = selectors.usage_by_person(package)
            people = {package.holder_id, *usage, *selectors.beneficiary_ids(package)}
            names = dict(Patient.objects.filter(tenant=tenant, pk__in=people).values_list("id", "name"))
            console.print(f"Usage by person, package {package.id} ({package.plan_version.name}):")
            usage_table = self.table(None, "Person", "Role", "Used")
            live = selectors.beneficiary_ids(package)
            for pid in sorted(people, key=lambda p: (p != package.holder_id, names.get(p, ""))):
                role = "holder" if pid == package.holder_id else ("beneficiary" if pid in live else "former")
                usage_table.add_row(names.get(pid, str(pid)), role, str(usage.get(pid, 0)))
            console.print(usage_table)
