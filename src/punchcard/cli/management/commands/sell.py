"""`punchcard sell PATIENT PLAN`: sell a plan to a patient, paid in full now."""

from __future__ import annotations

from punchcard.billing.services import sell_package
from punchcard.catalogue.models import Plan
from punchcard.cli.base import PunchcardCommand, parse_date
from punchcard.domain.errors import NotFound
from punchcard.domain.roles import cli_actor
from punchcard.packages import selectors, wording


class Command(PunchcardCommand):
    help = "Sell a plan to a patient (paid in full) and print the new package."

    def add_command_arguments(self, parser):
        parser.add_argument("patient", metavar="PATIENT", help="patient's external reference (or id)")
        parser.add_argument("plan", metavar="PLAN", help="plan code (see `punchcard plans`)")
        parser.add_argument("--centre", metavar="CODE", help="selling centre (default: the tenant's first centre)")
        parser.add_argument("--start", metavar="DATE", help="start date, today or later (default: today)")
        parser.add_argument("--method", default="cash", help="cash, card or bank_transfer (default: cash)")
        parser.add_argument("--reference", default="", help="payment reference (receipt, card authorisation)")
        parser.add_argument("--staff", metavar="ID", help="staff member credited with the sale")
        parser.add_argument("--promotion-code", metavar="CODE", help="a promotion code the patient gave")
        parser.add_argument("--idempotency-key", metavar="KEY", help="repeat-safe key: the same key sells once")

    def run(
        self,
        *args,
        tenant,
        patient,
        plan,
        centre=None,
        start=None,
        method="cash",
        reference="",
        staff=None,
        idempotency_key=None,
        promotion_code=None,
        **options,
    ):
        buyer = self.patient(tenant, patient)
        plan_row = Plan.objects.filter(tenant=tenant, code=plan).first()
        if plan_row is None:
            raise NotFound(f"no plan with code {plan!r}", field="plan")
        where = self.centre(tenant, centre)
        credited = self.staff(tenant, staff) if staff is not None else None
        package = sell_package(
            tenant=tenant,
            actor=cli_actor(),
            patient_id=buyer.id,
            centre_id=where.id,
            plan_id=plan_row.id,
            start_date=parse_date(start, "start"),
            method=method,
            reference=reference,
            credited_staff_id=credited.id if credited else None,
            idempotency_key=idempotency_key,
            promotion_code=promotion_code,
        )
        summary = selectors.summarize(package)
        expiry = wording.expiry_text(tenant, summary)
        order = package.order_line.order
        self.stdout.write(
            f"Sold {package.plan_version.name} to {buyer.name} ({buyer.external_ref}) at {where.name}: "
            f"package {package.id}, {summary.granted} sessions, starts {wording.day(tenant, package.start_date)}, "
            f"{expiry}."
        )
        self.stdout.write(
            f"Order {order.number}: {wording.money(tenant, order.gross)} paid"
            + (f" by {method}" if order.gross else "")
            + (f", credited to {credited.name}" if credited else "")
            + "."
        )
        for line in summary.lines:
            self.stdout.write(f"  {line.label}: {line.granted} session(s)")
